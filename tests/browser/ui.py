"""What a user does in JupyterLab, as playwright steps (shared by the tests and the benchmark)."""

from __future__ import annotations

import re
import time

KERNEL_IDLE = re.compile(r"\|\s*Idle")
LONG = 120_000  # ms: a loaded 2-core machine starts kernels slowly
_WORKSPACES = 0


def open_from_file_browser(page, lab, *parts: str, notebook: bool = True):
    """Open ``parts[-1]`` by double-clicking through the folders of the file browser.

    A notebook is ready when its kernel is idle; any other file when its tab shows.
    """
    global _WORKSPACES
    _WORKSPACES += 1  # a fresh workspace: no tab or folder remembered from an earlier page
    page.goto(lab.url(f"lab/workspaces/w{_WORKSPACES}?reset"))
    page.wait_for_selector(".jp-DirListing-content", timeout=LONG)
    page.locator(".jp-BreadCrumbs-home").first.click()
    for name in parts:
        item = page.locator(".jp-DirListing-item", has=page.locator(f"text='{name}'"))
        item.first.wait_for(timeout=30_000)
        item.first.dblclick()
        if name != parts[-1]:
            page.wait_for_selector(f".jp-BreadCrumbs >> text={name}", timeout=LONG)
    if notebook:
        wait_kernel_idle(page)


def wait_kernel_idle(page, timeout=LONG):
    page.locator(".jp-Notebook:visible").first.wait_for(timeout=timeout)
    deadline = time.monotonic() + timeout / 1000
    while time.monotonic() < deadline:
        status = page.locator(".jp-StatusBar-TextItem", has_text="Python 3").all_inner_texts()
        if any(KERNEL_IDLE.search(s) for s in status):
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"the kernel did not become idle: {status}")


def cell(page, text: str):
    """The notebook cell whose input contains ``text``."""
    return page.locator(".jp-Notebook:visible .jp-Cell", has=page.locator(".jp-InputArea", has_text=text)).first


def set_source(page, target, source: str):
    """Replace a code cell's source as a student would (select all, type over it)."""
    editor = target.locator(".cm-content").first
    editor.scroll_into_view_if_needed()
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(source)  # no auto-indent, unlike typing line by line


def run(page, target):
    """Run one cell (Shift+Enter in it) and wait until it has finished."""
    editor = target.locator(".cm-content").first
    editor.scroll_into_view_if_needed()
    editor.click()
    page.keyboard.press("Shift+Enter")
    page.wait_for_timeout(200)
    prompt = target.locator(".jp-InputPrompt").first
    deadline = time.monotonic() + LONG / 1000
    while time.monotonic() < deadline:
        text = prompt.inner_text()
        if re.search(r"\[\d+\]", text):
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"the cell did not finish: prompt {prompt.inner_text()!r}")


def output_text(target) -> str:
    return "\n".join(target.locator(".jp-OutputArea-output").all_inner_texts())


def run_all(page, timeout=LONG):
    """Run > Run All Cells, then wait until no cell is queued or running."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    page.wait_for_timeout(1000)
    deadline = time.monotonic() + timeout / 1000
    while time.monotonic() < deadline:
        prompts = page.locator(".jp-Notebook:visible .jp-InputPrompt").all_inner_texts()
        if not any("*" in p for p in prompts):
            status = page.locator(".jp-StatusBar-TextItem", has_text="Python 3").all_inner_texts()
            if any(KERNEL_IDLE.search(s) for s in status):
                return
        page.wait_for_timeout(500)
    raise AssertionError("Run All did not finish")


def validate(page, timeout=LONG) -> str:
    """Click the notebook's Validate button; return the text of the result dialog."""
    page.locator(".validate-button:visible").first.click()
    dialog = page.locator(".jp-Dialog-content")
    dialog.wait_for(timeout=timeout)
    page.wait_for_function(
        "() => !document.querySelector('.jp-Dialog-content')?.innerText.includes('Validating')",
        timeout=timeout,
    )
    return dialog.inner_text()


def close_dialog(page):
    button = page.locator(".jp-Dialog-footer button").last
    if button.count():
        button.click()
