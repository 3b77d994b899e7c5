#!/usr/bin/env python3
"""Drives headless Chromium through torsion-kvweb's real forms.

Usage: kvweb_browser.py BASE_URL PROFILE_DIR

Chromium runs with the flags of the interop suite's other Chromium test,
plus --remote-debugging-pipe: the DevTools protocol as NUL-terminated JSON
messages on file descriptors 3 (to Chromium) and 4 (from it), so this
script needs nothing but Python's standard library (no websocket client).

Each step does what a person does: it loads a page, focuses a field, types
into it (Input.insertText), and clicks the form's button with the mouse
(Input.dispatchMouseEvent at the button's centre), so the browser submits
the real form itself (GET or POST, form-encoded, as the page says); or it
clicks the page's "Back to the forms" link. After each page load it prints
one line, `STEP <name> <json>`, with what the page shows: the HTTP status
of the document, its URL, its title, the text of #value, #error and
#message, how many elements #value holds, and any JavaScript dialog that
opened. The XSS steps also print the serialized DOM (what --dump-dom
prints); a last step loads the same script in a page that does run it, to
show a script that runs would be seen. The Rust test checks those lines;
this script only drives.
"""

import fcntl
import json
import os
import select
import subprocess
import sys
import time

WAIT = 20.0  # seconds any one wait may take

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--remote-debugging-pipe",
]


def high(fd):
    """Moves `fd` to 10 or above, out of the way of 3 and 4."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


class Browser:
    def __init__(self, profile):
        to_chrome_r, self.to_chrome = map(high, os.pipe())
        self.from_chrome, from_chrome_w = map(high, os.pipe())
        # Chromium reads fd 3 and writes fd 4.
        os.dup2(to_chrome_r, 3)
        os.dup2(from_chrome_w, 4)
        self.proc = subprocess.Popen(
            ["chromium", *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            pass_fds=(3, 4),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for fd in (3, 4, to_chrome_r, from_chrome_w):
            os.close(fd)
        self.buffer = b""
        self.next_id = 0
        self.events = []
        self.session = None

    def close(self):
        try:
            self.send("Browser.close", session=False, wait=False)
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def read_message(self, deadline):
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium said nothing in time")
            ready, _, _ = select.select([self.from_chrome], [], [], left)
            if ready:
                chunk = os.read(self.from_chrome, 65536)
                if not chunk:
                    raise EOFError("Chromium closed the pipe")
                self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method, params=None, session=True, wait=True):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(message).encode() + b"\0")
        if not wait:
            return None
        deadline = time.monotonic() + WAIT
        while True:
            reply = self.read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.on_event(reply)

    def on_event(self, event):
        if event.get("method") == "Page.javascriptDialogOpening":
            # A script ran: record it, and dismiss the dialog so nothing hangs.
            self.events.append(event)
            self.send("Page.handleJavaScriptDialog", {"accept": True}, wait=False)
        else:
            self.events.append(event)

    def wait_event(self, name):
        deadline = time.monotonic() + WAIT
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == name:
                    return self.events.pop(i)
            self.on_event(self.read_message(deadline))

    def open_page(self):
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)
        attached = self.send(
            "Target.attachToTarget",
            {"targetId": target["targetId"], "flatten": True},
            session=False,
        )
        self.session = attached["sessionId"]
        for domain in ("Page", "Runtime", "Network"):
            self.send(f"{domain}.enable")

    def evaluate(self, expression):
        result = self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def loaded(self, action):
        """Runs `action`, then waits for the page it leads to to load;
        returns the HTTP status of that document."""
        self.events = [e for e in self.events if e.get("method") == "Page.javascriptDialogOpening"]
        action()
        self.wait_event("Page.loadEventFired")
        status = None
        for event in self.events:
            if event.get("method") == "Network.responseReceived" and event["params"].get("type") == "Document":
                status = event["params"]["response"]["status"]
        return status

    def navigate(self, url):
        return self.loaded(lambda: self.send("Page.navigate", {"url": url}))

    def type_into(self, element_id, text):
        self.evaluate(f"document.getElementById({json.dumps(element_id)}).focus()")
        self.send("Input.insertText", {"text": text})

    def click(self, element_id):
        """A left click with the mouse at the centre of the element."""
        box = self.evaluate(
            f"(() => {{ const e = document.getElementById({json.dumps(element_id)});"
            " e.scrollIntoView({block: 'center'});"
            " const r = e.getBoundingClientRect();"
            " return {x: r.x + r.width / 2, y: r.y + r.height / 2}; })()"
        )
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            params = {"type": kind, "x": box["x"], "y": box["y"]}
            if kind != "mouseMoved":
                params.update({"button": "left", "clickCount": 1})
            self.send("Input.dispatchMouseEvent", params)

    def submit(self, form, fields):
        """Types each field of `form` and clicks its button."""
        def act():
            for name, text in fields:
                self.type_into(f"{form}-{name}", text)
            self.click(f"{form}-submit")
        return self.loaded(act)

    def report(self, step, status, dom=False):
        shown = self.evaluate(
            "(() => { const t = id => { const e = document.getElementById(id); return e ? e.textContent : null; };"
            " const v = document.getElementById('value');"
            " return {title: document.title, url: location.href, value: t('value'), error: t('error'),"
            " message: t('message'), value_elements: v ? v.children.length : null,"
            " scripts: document.scripts.length}; })()"
        )
        shown["status"] = status
        shown["dialogs"] = [
            e["params"].get("message") for e in self.events if e.get("method") == "Page.javascriptDialogOpening"
        ]
        if dom:
            shown["dom"] = self.evaluate("document.documentElement.outerHTML")
        print(f"STEP {step} {json.dumps(shown, sort_keys=True)}", flush=True)


XSS = "<script>document.title='pwned';alert(1)</script><img src=x onerror=\"document.title='pwned'\">"


def main():
    base, profile = sys.argv[1], sys.argv[2]
    browser = Browser(profile)
    try:
        browser.open_page()
        browser.report("index", browser.navigate(base + "/"))
        browser.report("set", browser.submit("set", [("key", "greeting"), ("value", "hello world")]))
        back = lambda: browser.loaded(lambda: browser.click("back"))
        back()
        browser.report("get", browser.submit("get", [("key", "greeting")]))
        back()
        browser.report("delete", browser.submit("delete", [("key", "greeting")]))
        back()
        browser.report("get-deleted", browser.submit("get", [("key", "greeting")]))
        back()
        browser.report("set-xss", browser.submit("set", [("key", "xss"), ("value", XSS)]), dom=True)
        back()
        browser.report("get-xss", browser.submit("get", [("key", "xss")]), dom=True)
        # The control: the same script on a page that does run it, to show
        # that a script that runs is seen (the title changes, the dialog opens).
        control = "data:text/html,<title>control</title>" + XSS
        browser.report("control", browser.navigate(control))
    finally:
        browser.close()


if __name__ == "__main__":
    main()
