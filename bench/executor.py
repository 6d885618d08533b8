"""Where the clips of a run are processed: a pool of worker processes here, or Ray actors.

The work is cut into batches of `batch_size` clips in suite order, the same batches whatever the
number of workers or how often the run was resumed (a batch with a finished clip is generated
again whole, and only its missing records are written), and every worker runs torch with the
same thread count: a generator's output can depend on its batch and on torch's thread count in
the last bit, so fixing both is what makes a run's scores identical to the bit for any worker
count. Each worker builds the generator once (a model loads once per worker, not once per clip)
and writes each clip's video and record itself, atomically.

Executors: `run_local` (a spawn process pool) and `run_ray` (one Ray actor per worker, on a local
Ray instance or an existing cluster). Both take (setup, batches, workers, on_done) and call
on_done(clips written) after each batch; workers=0 means every core (on Ray: every CPU of the
cluster).

Crashes: a pool worker exits as soon as the run's main process dies (even by SIGKILL), so no
orphan goes on writing into a run folder whose lock is gone while a resumed run works there (Ray
actors share their driver's fate already); a worker that dies abruptly stops the run with
WorkerDied, its finished clips kept for the resume.
"""
from __future__ import annotations

import json
import multiprocessing
import multiprocessing.connection
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from generators import GenerationRequest, Generator, Video, write_mp4
from simulators import Clip, GroundTruthCache, ScenarioSpec, cache_dir

from .results import RunFolder
from .video_cache import VideoCache, batch_keys

if TYPE_CHECKING:
    from .run import ClipFailure


@dataclass(frozen=True)
class WorkerSetup:
    """Everything a worker needs to build its generator and write results (picklable)."""

    generator_options: dict[str, Any]
    metric_names: list[str]
    cache_dir: str
    run_dir: str
    write_videos: bool
    seed: int
    plugins: list[str] = field(default_factory=list)
    torch_threads: int = 1
    generator_timeout_s: float = 0.0
    conditioning: str = "v2v"
    """What the generator is given besides the prompt (generators.base.CONDITIONING): v2v, i2v or t2v."""
    cache_videos: bool = True
    """Take a model's videos from the generated-video cache when they are there (bench/video_cache.py)."""


@dataclass(frozen=True)
class Sample:
    """One unit of work: sample `index` (0 .. samples-1) of a scenario, generated with seed run seed + index.

    key names its record (clips/<key>.json) and video_name its video: the spec hash and clip id for
    sample 0 (a run with samples=1 looks as it always did), with '.s<index>' appended for the others."""

    spec: ScenarioSpec
    index: int = 0

    @property
    def key(self) -> str:
        return self.spec.spec_hash if self.index == 0 else f"{self.spec.spec_hash}.s{self.index}"

    @property
    def video_name(self) -> str:
        return self.spec.clip_id if self.index == 0 else f"{self.spec.clip_id}.s{self.index}"


def samples_of(specs: Sequence[ScenarioSpec], samples: int) -> list[Sample]:
    """Every scenario's samples, scenario by scenario, in suite order."""
    return [Sample(spec, index) for spec in specs for index in range(samples)]


class Worker:
    """One process's generator, ground-truth cache and run folder."""

    def __init__(self, setup: WorkerSetup) -> None:
        from .run import import_plugins, make_generator

        import_plugins(setup.plugins)
        self.setup = setup
        self.clips: dict[str, Clip] = {}
        self.generator: Generator = make_generator(setup.generator_options, ground_truth=self.clips.__getitem__)
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(setup.torch_threads)
        self.cache = GroundTruthCache(cache_dir(setup.cache_dir))
        self.folder = RunFolder(setup.run_dir)
        self.videos: VideoCache | None = None
        if setup.cache_videos and self.generator.cache_videos:
            self.videos = VideoCache(cache_dir(setup.cache_dir))
            options = json.dumps(setup.generator_options, sort_keys=True, default=str)
            self.identity = f"{options} {self.generator.checksum()}"

    def videos_of(self, requests: list[GenerationRequest]) -> list[Video | ClipFailure]:
        """The batch's videos: from the video cache when every one is there, else generated (and stored)."""
        from .run import generate_safely

        if self.videos is None:
            return generate_safely(self.generator, requests, self.setup.generator_timeout_s)
        keys = batch_keys(self.identity, self.setup.torch_threads, requests)
        cached = self.videos.get_batch(keys)
        if cached is not None:
            return list(cached)
        outcomes = generate_safely(self.generator, requests, self.setup.generator_timeout_s)
        if all(isinstance(outcome, Video) for outcome in outcomes):
            self.videos.put_batch(keys, outcomes)
        return outcomes

    def process(self, batch: Sequence[Sample]) -> int:
        """Generate and score one batch; write the records still missing. Returns how many were written."""
        from .run import score_outcome

        self.clips.clear()
        self.clips.update({item.spec.clip_id: self.cache.get(item.spec) for item in batch})
        requests = [GenerationRequest.from_clip(self.clips[item.spec.clip_id], seed=self.setup.seed + item.index,
                                                conditioning=self.setup.conditioning)
                    for item in batch]
        written = 0
        for item, outcome in zip(batch, self.videos_of(requests)):
            if self.folder.has_record(item.key):
                continue
            if isinstance(outcome, Video) and self.setup.write_videos:
                write_mp4(self.folder.video_path(item.video_name), outcome.frames, outcome.fps)
            record = score_outcome(self.clips[item.spec.clip_id], outcome, self.setup.metric_names,
                                   self.setup.conditioning)
            record.sample = item.index
            self.folder.write_record(record, item.key)
            written += 1
        self.clips.clear()
        return written


def work_batches(items: Sequence[Sample], batch_size: int, done: Callable[[Sample], bool]
                 ) -> Iterator[Sequence[Sample]]:
    """The fixed batches of the run's samples that still hold an unfinished one."""
    for start in range(0, len(items), batch_size):
        batch = items[start:start + batch_size]
        if not all(done(item) for item in batch):
            yield batch


def worker_count(requested: int) -> int:
    """0 means every core this process may use."""
    if requested > 0:
        return requested
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class WorkerDied(RuntimeError):
    """A worker process ended abruptly (a signal, the out-of-memory killer, a failed start); the run stops."""


ORPHAN_EXIT_CODE = 70
"""Exit status of a pool worker that stopped because the run's main process died."""

_WORKER: Worker | None = None


def exit_with_parent() -> None:
    """In a spawned worker: end this process (os._exit, nothing more written) once its parent is gone.

    A daemon thread waits on the parent's sentinel, the pipe end that reads EOF when the parent dies
    however it dies. Without it a worker orphaned by `kill -9 <run's pid>` keeps taking batches from
    the pool's queue and writes records into the run folder, unlocked, next to the run that resumes it."""
    parent = multiprocessing.parent_process()
    if parent is None:  # not a multiprocessing child
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(ORPHAN_EXIT_CODE)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _start_worker(setup: WorkerSetup) -> None:
    global _WORKER
    exit_with_parent()
    _WORKER = Worker(setup)


def _process_in_worker(batch: Sequence[ScenarioSpec]) -> int:
    assert _WORKER is not None, "worker not started"
    return _WORKER.process(batch)


def run_local(setup: WorkerSetup, batches: list[Sequence[ScenarioSpec]], workers: int,
              on_done: Callable[[int], None]) -> None:
    """Process the batches with `workers` processes (0: every core; 1: in this process)."""
    if not batches:
        return
    workers = min(worker_count(workers), len(batches))
    if workers == 1:
        worker = Worker(setup)
        for batch in batches:
            on_done(worker.process(batch))
        return
    context = multiprocessing.get_context("spawn")  # fork after torch's threads start can deadlock
    try:
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=(setup,)) as pool:
            for future in as_completed([pool.submit(_process_in_worker, batch) for batch in batches]):
                on_done(future.result())
    except BrokenProcessPool as error:
        raise WorkerDied(f"a worker process stopped abruptly (killed by a signal, out of memory, or its start failed: "
                         f"see above); the clips finished so far are kept in {setup.run_dir}: run the same command "
                         f"again to resume (with fewer workers= if memory ran out)") from error


RAY_MISSING = "executor=ray needs Ray, which is not installed: pip install 'physcheck[ray]'"


def ray_installed() -> bool:
    """Whether the optional Ray extra can be imported."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def connect_ray(address: str, workers: int) -> None:
    """ray.init: the cluster at `address`, or a new local instance with `workers` CPUs when it is empty."""
    import ray

    from .run import ConfigError

    try:
        ray.init(address=address or None, num_cpus=None if address else worker_count(workers),
                 include_dashboard=False, log_to_driver=False)
    except (ConnectionError, ValueError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError(f"executor.address={address}: cannot connect to Ray ({message}); start the cluster "
                          "(`ray start --head`) or leave executor.address empty for a local Ray instance") from error


def run_ray(setup: WorkerSetup, batches: list[Sequence[ScenarioSpec]], workers: int,
            on_done: Callable[[int], None], address: str = "") -> None:
    """Process the batches on one Ray actor per worker, each holding one Worker (so one loaded model).

    address: an existing cluster (`auto`, `ray://head:10001`, ...); empty starts a local Ray instance
    with `workers` CPUs, shut down at the end. Ray's ActorPool hands each idle actor the next batch.
    On a cluster every node must see run_dir (a shared filesystem) and have physcheck installed.
    """
    import ray
    from ray.util import ActorPool

    if not batches:
        return
    started_here = not ray.is_initialized()
    if started_here:
        connect_ray(address, workers)
    actors = []
    try:
        count = min(workers or max(1, int(ray.cluster_resources().get("CPU", 1))), len(batches))
        actor_class = ray.remote(num_cpus=1)(Worker)
        actors = [actor_class.remote(setup) for _ in range(count)]
        for written in ActorPool(actors).map_unordered(lambda actor, batch: actor.process.remote(batch), batches):
            on_done(written)
    finally:
        for actor in actors:
            ray.kill(actor)
        if started_here:
            ray.shutdown()
