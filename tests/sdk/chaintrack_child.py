"""A small application the lifecycle and concurrency tests run as a child process.

    python chaintrack_child.py MODE [ARGS...]

It starts a task with ``Task.init`` (CHAINTRACK_HOME and the rest come from the environment the
test passes), prints ``task <id>`` on stdout, then does what MODE says. It never calls
``task.close()``: how the process ends decides the task's status.
"""

from __future__ import annotations

import signal
import sys
import threading
import time

from chaintrack import Task


def start(name: str) -> Task:
    task = Task.init("lifecycle", name)
    print(f"task {task.id}", flush=True)
    return task


def normal(count: str) -> None:
    """Report ``count`` scalars and return: a normal exit, no close()."""
    logger = start("normal").get_logger()
    for i in range(int(count)):
        logger.report_scalar("loss", "train", 1.0 / (i + 1), i)


def uncaught() -> None:
    logger = start("uncaught").get_logger()
    for i in range(10):
        logger.report_scalar("loss", "train", float(i), i)
    raise ValueError("the model diverged at step 10")


def keyboard() -> None:
    logger = start("keyboard").get_logger()
    logger.report_scalar("loss", "train", 1.0, 0)
    raise KeyboardInterrupt


def until_killed() -> None:
    """Report forever; after each scalar, say on stdout that it was reported."""
    logger = start("sigterm").get_logger()
    i = 0
    while True:
        logger.report_scalar("loss", "train", float(i), i)
        print(f"reported {i}", flush=True)
        i += 1


def hung_store(count: str, then: str = "exit") -> None:
    """The store stops answering: exit (``then`` = exit) or SIGTERM (``then`` = wait) must
    still end the process within CHAINTRACK_DRAIN_TIMEOUT."""
    task = start("hung")
    logger = task.get_logger()
    logger.report_text("before the store hung", print_console=False)
    task.flush(wait_for_uploads=True)
    forever = threading.Event()
    store = task._store

    def hang(batch: object) -> None:
        forever.wait()

    store.write = hang  # type: ignore[method-assign]
    for i in range(int(count)):
        logger.report_scalar("loss", "train", float(i), i)
    print("reported all", flush=True)
    while then == "wait":
        # Short sleeps: a signal that lands between the print above and a long sleep would only
        # be handled when that sleep ends (a CPython limitation, not chaintrack's).
        time.sleep(0.05)


def graceful() -> None:
    """The application's own SIGTERM handler asks the loop to stop; the process then reports a
    last line and exits normally."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    logger = start("graceful").get_logger()
    i = 0
    while not stop.is_set():
        logger.report_scalar("loss", "train", float(i), i)
        print(f"reported {i}", flush=True)
        i += 1
    logger.report_text("shut down gracefully", print_console=False)


def threads(n_threads: str, per_thread: str, name: str) -> None:
    """``n_threads`` threads of this process each report ``per_thread`` scalars, starting when
    a line arrives on stdin (so that several such processes log at the same time)."""
    logger = start(name).get_logger()
    sys.stdin.readline()
    go = threading.Barrier(int(n_threads))

    def work(t: int) -> None:
        go.wait()
        for i in range(int(per_thread)):
            logger.report_scalar("thread", f"t{t}", float(i), i)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(int(n_threads))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def paced() -> None:
    """Report a scalar about every half millisecond (its value: the time it was reported) and,
    every tenth, a LangChain run through the handler, until killed."""
    from langchain_core.runnables import RunnableLambda

    from chaintrack.langchain import ClearMLCallbackHandler

    task = start("paced")
    logger = task.get_logger()
    handler = ClearMLCallbackHandler()
    step = RunnableLambda(lambda x: x, name="step")
    i = 0
    while True:
        logger.report_scalar("clock", "reported at", time.time(), i)
        if i % 10 == 0:
            step.invoke({"i": i}, config={"callbacks": [handler]})
        if i % 500 == 0:
            print(f"reported {i}", flush=True)
        i += 1
        time.sleep(0.0005)


def report(count: str, seconds: str) -> None:
    """Report ``count`` scalars evenly over ``seconds``, then close the task and say how long
    close() took."""
    task = start("report")
    logger = task.get_logger()
    n, pause = int(count), float(seconds) / int(count)
    for i in range(n):
        logger.report_scalar("loss", "train", float(i), i)
        if i % 1000 == 0:
            print(f"reported {i}", flush=True)
        time.sleep(pause)
    print("closing", flush=True)
    started = time.monotonic()
    task.close()
    print(f"closed in {time.monotonic() - started:.2f} s", flush=True)


MODES = {
    "report": report,
    "paced": paced,
    "normal": normal,
    "uncaught": uncaught,
    "keyboard": keyboard,
    "until-killed": until_killed,
    "hung-store": hung_store,
    "threads": threads,
    "graceful": graceful,
}

if __name__ == "__main__":
    MODES[sys.argv[1]](*sys.argv[2:])  # type: ignore[operator]
