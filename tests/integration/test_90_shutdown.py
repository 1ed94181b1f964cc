"""Clean stop on SIGTERM, and no sanitizer report in any onloand log of the
run (the ASan/UBSan build prints them to stderr, which the harness logs)."""

import time

from harness import SANITIZER_MARKERS as MARKERS


def test_sigterm_clean_exit_and_no_sanitizer_reports(ctx):
    st = ctx.stack
    t0 = time.monotonic()
    rc = st.stop_daemon()
    secs = time.monotonic() - t0
    reports = []
    for path in st.daemon_logs:
        with open(path, errors="replace") as f:
            text = f.read()
        for m in MARKERS:
            i = text.find(m)
            if i >= 0:
                reports.append("%s: %s" % (path, text[max(0, i - 200):i + 1200]))
                break
    assert not reports, "sanitizer reports:\n" + "\n".join(reports)
    assert rc == 0, "onloand exited %r on SIGTERM (want 0)" % rc
    assert secs < 5, "onloand took %.1fs to stop" % secs
