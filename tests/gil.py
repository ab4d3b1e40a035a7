"""The test of a released GIL: run a call in a worker thread while this thread ticks."""
import threading
import time


def ticks_while(fn):
    """Run ``fn()`` in a worker thread while this thread records ``time.perf_counter()`` about every millisecond.

    Returns (fn's result, the ticks as a list of floats, the last one taken after the worker ended). If the call
    held the GIL, this thread would stall for its whole length: the largest gap between ticks would be the
    call's duration instead of about a millisecond. An exception in ``fn`` is re-raised here."""
    out = {}

    def work():
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: B902 - handed to the caller
            out["error"] = exc

    ticks = []
    th = threading.Thread(target=work)
    th.start()
    while th.is_alive():
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    th.join()
    ticks.append(time.perf_counter())
    if "error" in out:
        raise out["error"]
    return out["value"], ticks
