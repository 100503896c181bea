"""``evaluate``: run a target on every example of a dataset, score each output, and store each
result as soon as it is scored (``eval_results``, see ``store/evaltables.py``).

Examples run on ``max_concurrency`` worker threads; the calling thread collects what they
scored and writes it in small batches, so Ctrl-C (or a crash of the target's machinery) loses
nothing already scored, and ``resume=<experiment id>`` runs only the examples (and
repetitions) that have no result. Scorers that need an example's cost run at the end, once the
run's spans are stored and priced.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from chaintrack.errors import InvalidArgumentError, invalid
from chaintrack.eval.dataset import Dataset
from chaintrack.eval.experiment import EXPERIMENT_TAG, SECTION, Experiment, reopen
from chaintrack.eval.report import report_experiment
from chaintrack.eval.scoring import Scorer, as_scorers
from chaintrack.eval.targets import ExampleContext, Target, run_scorers
from chaintrack.eval.values import to_json
from chaintrack.sdk.task import Task
from chaintrack.store import open_store
from chaintrack.store.base import Store
from chaintrack.store.evalrecords import ExampleRecord, ResultRecord

log = logging.getLogger("chaintrack")
#: Results are written when this many are waiting, or this often (seconds).
WRITE_EVERY = 100
WRITE_SECONDS = 0.5


def _count(argument: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise invalid(argument, value, "an integer >= 1")
    return value


class _Run:
    """One run of ``evaluate``: the target, the scorers and where results go."""

    def __init__(self, store: Store, task: Task, dataset: Dataset, target: Target,
                 scorers: list[Scorer]) -> None:  # fmt: skip
        self.store, self.task, self.dataset = store, task, dataset
        self.target = target
        self.now_scorers = [s for s in scorers if not s.deferred]
        self.later_scorers = [s for s in scorers if s.deferred]
        self.judging = any(getattr(s.function, "needs_callbacks", False) for s in scorers)

    def one(self, example: ExampleRecord, repetition: int) -> ResultRecord:
        """Run and score one example (never raises: failures are recorded on the row)."""
        inputs = json.loads(example.inputs)
        call = self.target.run(inputs, example.example_id, repetition)
        values = {
            "output": call.output, "inputs": inputs,
            "expected": None if example.expected is None else json.loads(example.expected),
            "metadata": json.loads(example.metadata), "latency_ms": call.latency_ms,
            "total_tokens": call.total_tokens,
        }  # fmt: skip
        scores: dict[str, Any] = {}
        if call.error is None:
            callbacks = self.target.judge_callbacks() if self.judging else []
            context = ExampleContext(example.example_id, repetition, call.trace_id, callbacks)
            for scorer in self.now_scorers:
                scores[scorer.name] = run_scorers(context, scorer, values)
        try:
            output = to_json(call.output)
        except (TypeError, ValueError):
            output = json.dumps(repr(call.output))
        return ResultRecord(
            task_id=self.task.id, example_id=example.example_id, repetition=repetition,
            dataset_id=self.dataset.id, position=example.position, created=time.time(),
            output=output, scores=json.dumps(scores, default=str), latency_ms=call.latency_ms,
            error=call.error, trace_id=call.trace_id,
        )  # fmt: skip

    def run(self, jobs: list[tuple[ExampleRecord, int]], workers: int, progress: bool) -> None:
        bar = _progress(len(jobs), self.task.name, progress)
        waiting: list[ResultRecord] = []
        written = time.monotonic()
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chaintrack-eval")
        futures: set[Future[ResultRecord]] = {pool.submit(self.one, e, r) for e, r in jobs}
        try:
            while futures:
                done, futures = wait(futures, timeout=WRITE_SECONDS, return_when=FIRST_COMPLETED)
                waiting.extend(f.result() for f in done)
                bar.update(len(done))
                if waiting and (
                    len(waiting) >= WRITE_EVERY or time.monotonic() - written >= WRITE_SECONDS
                ):
                    self.store.write_results(waiting)
                    waiting, written = [], time.monotonic()
        finally:
            # Stopped (Ctrl-C, an error): what finished is stored; what did not is left for
            # ``resume``.
            pool.shutdown(wait=False, cancel_futures=True)
            waiting.extend(
                f.result()
                for f in futures
                if f.done() and not f.cancelled() and f.exception() is None
            )
            if waiting:
                self.store.write_results(waiting)
            bar.close()

    def score_later(self) -> None:
        """Run the scorers that need each example's cost, now that its spans are stored."""
        if not self.later_scorers:
            return
        self.task.flush()
        if self.target.handler is not None:
            self.target.handler.flush()
        totals = {t.trace_id: t for t in self.store.trace_totals(self.task.id)}
        updated: list[ResultRecord] = []
        for record in self.store.get_results(self.task.id):
            scores = json.loads(record.scores or "{}")
            missing = [s for s in self.later_scorers if s.name not in scores]
            if record.error is not None or not missing:
                continue
            used = totals.get(record.trace_id or "")
            values = {"cost_usd": used.cost_usd if used else None,
                      "total_tokens": used.total_tokens if used else None,
                      "latency_ms": record.latency_ms}  # fmt: skip
            for scorer in missing:
                scores[scorer.name] = scorer.score(values)
            record.scores = json.dumps(scores, default=str)
            updated.append(record)
        self.store.write_results(updated)


def _progress(total: int, name: str, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=name, unit="example", disable=not enabled or total == 0,
                file=sys.stderr, dynamic_ncols=True)  # fmt: skip


def evaluate(
    target: Any,
    dataset: Dataset | str,
    scorers: Sequence[Any] | Mapping[str, Any],
    *,
    experiment_name: str | None = None,
    project_name: str | None = None,
    params: Mapping[str, Any] | None = None,
    max_concurrency: int = 4,
    repetitions: int = 1,
    tags: Sequence[str] | None = None,
    resume: str | None = None,
    progress: bool = True,
) -> Experiment:
    """Run ``target`` on every example of ``dataset`` (``repetitions`` times), score each
    output with ``scorers`` and store the results in a new experiment (a task of type
    ``testing``), or in experiment ``resume`` for the examples it has no result for.

    ``target``: a LangChain Runnable or LangGraph graph (invoked with the example's inputs and
    chaintrack's handler), or a function of the inputs dict. See docs/evaluation.md.
    """
    workers = _count("max_concurrency", max_concurrency)
    repetitions = _count("repetitions", repetitions)
    scorer_list = as_scorers(scorers)
    store = open_store()
    if isinstance(dataset, str):
        dataset = Dataset.get(dataset_id=dataset)
    elif not isinstance(dataset, Dataset):
        raise invalid("dataset", dataset, "a Dataset or a dataset id")
    if not dataset.is_final:
        # An experiment refers to its dataset by id and version: rows added later must not
        # change what that version holds. Adding rows afterwards makes a new version.
        dataset.finalize()
        log.info("chaintrack: finalized dataset %s/%s %s for the experiment",
                 dataset.project, dataset.name, dataset.version)  # fmt: skip
    if resume is not None:
        task = reopen(store, str(resume))
        stored = {str(v) for k, v in task.get_parameters().items() if k == f"{SECTION}/dataset_id"}
        if stored and dataset.id not in stored:
            task.mark_stopped()
            raise InvalidArgumentError(
                f"resume={resume!r}: the experiment ran on dataset {stored.pop()}, not on "
                f"{dataset.id} ({dataset.name} {dataset.version}); pass the same dataset"
            )
        done = {(r.example_id, r.repetition) for r in store.get_results(task.id)}
    else:
        name = experiment_name or f"{dataset.name} {time.strftime('%Y-%m-%d %H:%M:%S')}"
        task = Task.start(project_name or dataset.project, name, "testing", tags, store=store)
        task.set_system_tags([EXPERIMENT_TAG])
        done = set()
    runner = None
    try:
        runner = _Run(store, task, dataset, Target(target, task), scorer_list)
        if resume is None:
            task.connect({
                "dataset_id": dataset.id, "dataset_name": dataset.name,
                "dataset_project": dataset.project, "dataset_version": dataset.version,
                "target": runner.target.name, "scorers": ", ".join(s.name for s in scorer_list),
                "repetitions": repetitions, "max_concurrency": workers,
            }, name=SECTION)  # fmt: skip
            if params:
                task.connect(dict(params))
        # Results are written straight to the store: the task they belong to must be stored
        # first (a tracking server refuses results of a task it does not know).
        task.flush(wait_for_uploads=True)
        examples = dataset.examples()
        jobs = [(e, r) for r in range(repetitions) for e in examples
                if (e.example_id, r) not in done]  # fmt: skip
        runner.run(jobs, workers, progress)
        runner.score_later()
        if runner.target.handler is not None:
            runner.target.handler.flush()
        report_experiment(task, store, dataset)
    except KeyboardInterrupt:
        task.mark_stopped(status_message="stopped (Ctrl-C); resume with evaluate(resume=…)")
        raise
    except BaseException as exc:
        task.mark_failed(status_reason=f"{type(exc).__name__}: {exc}")
        raise
    task.close()
    return Experiment(task.id, store)
