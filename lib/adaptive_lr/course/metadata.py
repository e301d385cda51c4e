"""nbgrader's check of its cell metadata, with the JSON schema compiled once per process.

nbgrader's ``CheckCellMetadata`` runs twice per submission (after the
sanitizing and after the grading) and validates each cell's ``nbgrader``
metadata with ``jsonschema.validate``, which first checks the schema itself
against its metaschema: on the exercise notebook's 169 nbgrader cells that
is 0.10 s of the worker's CPU per run (7 ms with the schema compiled), 0.2 s
per submission of the 1.0 s the worker itself spends on one (the kernels
spend the rest). :class:`CheckCellMetadata` validates against the same
schema, with the same checks and errors (nbgrader's own code for everything
but the schema step), through a validator built once.
"""

from __future__ import annotations

import jsonschema
from jsonschema.exceptions import best_match
from nbgrader.nbgraderformat import MetadataValidator, ValidationError
from nbgrader.nbgraderformat.common import BaseMetadataValidator
from nbgrader.preprocessors import CheckCellMetadata as NbgraderCheckCellMetadata

_VALIDATORS: dict[int, jsonschema.protocols.Validator] = {}  # schema version -> validator


def _validator(version: int, schema: dict):
    if version not in _VALIDATORS:
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)  # once, where jsonschema.validate does it on every call
        _VALIDATORS[version] = cls(schema)
    return _VALIDATORS[version]


class _CompiledSchema(BaseMetadataValidator):
    """The schema step of nbgrader's ``validate_cell``, through a validator built once."""

    def validate_cell(self, cell) -> None:
        meta = cell.metadata.get("nbgrader")
        if meta is None or meta.get("schema_version", 0) != self.schema_version:
            super().validate_cell(cell)  # nbgrader's own: nothing to check, or a version error
            return
        error = best_match(_validator(self.schema_version, self.schema).iter_errors(meta))
        if error is not None:
            raise error


class CompiledMetadataValidator(MetadataValidator, _CompiledSchema):
    """nbgrader's current metadata validator (its cell and notebook checks), the schema step
    compiled: in the method order, :class:`_CompiledSchema` comes between nbgrader's
    validator and its base, so that nbgrader's ``validate_cell`` calls it."""


class CheckCellMetadata(NbgraderCheckCellMetadata):
    """nbgrader's ``CheckCellMetadata`` through :class:`CompiledMetadataValidator`."""

    def preprocess(self, nb, resources):
        try:
            CompiledMetadataValidator().validate_nb(nb)
        except ValidationError as err:
            self.log.error("the nbgrader metadata does not validate: %s", err)
            raise ValidationError(
                "Notebook failed to validate; the nbgrader metadata may be corrupted.") from err
        return nb, resources
