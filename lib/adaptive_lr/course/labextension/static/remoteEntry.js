/*
 * adaptive-lr's JupyterLab plugin, a federated module with no dependencies (so no build step):
 * JupyterLab loads this script, calls init() and get("./extension"), and activates the plugin.
 *
 * nbgrader 0.9 adds its Validate button to every notebook's toolbar. Validate runs a notebook's
 * graded tests, so on a notebook without graded cells (the theory notebooks) it can only report
 * "no tests"; the plugin hides the button there and shows it on notebooks that nbgrader grades
 * (any cell whose nbgrader metadata marks it graded, a solution or a task), checking again when
 * the notebook is saved (the instructor may have marked cells in the meantime).
 */
var _JUPYTERLAB;
(function () {
  "use strict";

  function isGraded(model) {
    var cells = model.cells;
    for (var i = 0; i < cells.length; i++) {
      var cell = cells.get(i);
      var nbgrader = cell.getMetadata ? cell.getMetadata("nbgrader") : cell.metadata && cell.metadata.nbgrader;
      if (nbgrader && (nbgrader.grade || nbgrader.solution || nbgrader.task)) {
        return true;
      }
    }
    return false;
  }

  function validateButtons(panel) {
    var found = [];
    for (var widget of panel.toolbar.children()) {
      // The class is on the toolbar item's node or, for a React toolbar button, on its <button>.
      var node = widget.node;
      if (node.classList.contains("validate-button") || node.querySelector(".validate-button")) {
        found.push(widget);
      }
    }
    return found;
  }

  function update(panel, context) {
    if (panel.isDisposed || !context.model) {
      return;
    }
    var graded = isGraded(context.model);
    validateButtons(panel).forEach(function (button) {
      button.setHidden(!graded);
    });
    panel.node.dataset.adaptiveLrGraded = graded ? "true" : "false";
  }

  var plugin = {
    id: "adaptive-lr-course:validate-on-graded-notebooks",
    description: "Shows nbgrader's Validate button only on notebooks with graded cells.",
    autoStart: true,
    activate: function (app) {
      app.docRegistry.addWidgetExtension("Notebook", {
        createNew: function (panel, context) {
          // nbgrader's button is added by its own widget extension, in any order relative to
          // this one; both have run by the time the notebook's content is loaded.
          context.ready.then(function () {
            update(panel, context);
          });
          var onSave = function (sender, state) {
            if (state === "completed") {
              update(panel, context);
            }
          };
          context.saveState.connect(onSave);
          return {
            isDisposed: false,
            dispose: function () {
              context.saveState.disconnect(onSave);
              this.isDisposed = true;
            }
          };
        }
      });
    }
  };

  _JUPYTERLAB = typeof _JUPYTERLAB === "undefined" ? {} : _JUPYTERLAB;
  _JUPYTERLAB["adaptive-lr-course"] = {
    init: function () {},
    get: function (module) {
      if (module !== "./extension") {
        return Promise.reject(new Error("adaptive-lr-course has no module " + module));
      }
      return Promise.resolve(function () {
        return { __esModule: true, default: plugin };
      });
    }
  };
})();
