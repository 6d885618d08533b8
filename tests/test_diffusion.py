"""The bundled model's pieces: training reduces the loss, checkpoints resume exactly, sampling is deterministic."""
import numpy as np
import pytest
import torch
from torch import nn

from generators.diffusion.autoencoder import FrameAutoencoder, to_uint8, to_unit
from generators.diffusion.checkpoint import (
    export_weights,
    load_checkpoint,
    load_ema,
    read_info,
    resume_training,
    save_checkpoint,
    save_training,
    update_ema,
)
from generators.diffusion.denoiser import VideoDenoiser
from generators.diffusion.pipeline import LatentScale, VideoPipeline
from generators.diffusion.text import PromptEncoder


def tiny_model() -> nn.ModuleDict:
    torch.manual_seed(0)
    return nn.ModuleDict({"denoiser": VideoDenoiser(8, 16, 2, width=32, depth=1, heads=2), "prompts": PromptEncoder(32)})


def denoiser_loss(model, clean, sigma, noise, prompts):
    mask = torch.zeros(clean.shape[:2])
    mask[:, :2] = 1
    noisy = (1 - sigma)[:, None, None, None, None] * clean + sigma[:, None, None, None, None] * noise
    return (model["denoiser"](noisy, clean, mask, sigma, model["prompts"](prompts)) - clean).pow(2)[:, 2:].mean()


def test_training_steps_reduce_the_loss_on_a_fixed_batch():
    model = tiny_model()
    generator = torch.Generator().manual_seed(1)
    clean, noise = torch.randn(2, 6, 8, 16, 16, generator=generator), torch.randn(2, 6, 8, 16, 16, generator=generator)
    sigma, prompts = torch.tensor([0.3, 0.7]), ["a red ball falls", "a blue ball"]
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = denoiser_loss(model, clean, sigma, noise, prompts).item()
    for _ in range(80):
        optimizer.zero_grad()
        denoiser_loss(model, clean, sigma, noise, prompts).backward()
        optimizer.step()
    assert denoiser_loss(model, clean, sigma, noise, prompts).item() < 0.5 * first


def test_checkpoint_resumes_exactly(tmp_path):
    batch = (torch.randn(2, 6, 8, 16, 16), torch.tensor([0.5, 0.2]), torch.randn(2, 6, 8, 16, 16), ["x", "y"])

    def step(model, optimizer):
        optimizer.zero_grad()
        denoiser_loss(model, *batch[:1], batch[1], batch[2], batch[3]).backward()
        optimizer.step()

    model = tiny_model()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    step(model, optimizer)
    save_checkpoint(tmp_path / "c.safetensors", model, optimizer, 1, {"note": "test"})
    resumed = tiny_model()
    resumed_optimizer = torch.optim.AdamW(resumed.parameters(), lr=1e-3)
    assert load_checkpoint(tmp_path / "c.safetensors", resumed, resumed_optimizer) == (1, {"note": "test"})
    step(model, optimizer)
    step(resumed, resumed_optimizer)
    for (name, a), (_, b) in zip(model.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), name


def test_shipped_weights_hold_no_optimizer_and_training_resumes_from_either_file(tmp_path):
    from safetensors import safe_open

    model = tiny_model()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    denoiser_loss(model, torch.randn(1, 4, 8, 16, 16), torch.tensor([0.5]), torch.randn(1, 4, 8, 16, 16), ["x"]).backward()
    optimizer.step()
    weights, state = tmp_path / "weights.safetensors", tmp_path / "state" / "w.safetensors"
    save_training(weights, state, model, optimizer, 7, {"note": "t"})
    with safe_open(str(weights), framework="pt") as handle:
        assert all(key.startswith("model.") for key in handle.keys())
    assert read_info(weights) == (7, {"note": "t"}) and weights.stat().st_size < 0.6 * state.stat().st_size

    resumed = tiny_model()
    resumed_optimizer = torch.optim.AdamW(resumed.parameters(), lr=1e-3)
    assert resume_training(weights, state, resumed, resumed_optimizer)[0] == 7
    assert resumed_optimizer.state_dict()["state"], "the optimizer moments come back from the training state"
    state.unlink()
    fresh = tiny_model()
    fresh_optimizer = torch.optim.AdamW(fresh.parameters(), lr=1e-3)
    assert resume_training(weights, state, fresh, fresh_optimizer)[0] == 7
    assert not fresh_optimizer.state_dict()["state"]
    for (name, a), (_, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert torch.equal(a, b), name
    assert resume_training(tmp_path / "none", tmp_path / "none2", tiny_model(), fresh_optimizer)[0] == 0

    full = save_checkpoint(tmp_path / "full.safetensors", model, optimizer, 3)
    stripped = export_weights(full, tmp_path / "stripped.safetensors")
    assert read_info(stripped)[0] == 3 and stripped.stat().st_size < 0.6 * full.stat().st_size
    import copy

    with_ema = save_checkpoint(tmp_path / "state.safetensors", model, optimizer, 3, ema=copy.deepcopy(model))
    carried = export_weights(with_ema, tmp_path / "carried.safetensors", keep_ema=True)
    resumed_ema, resumed_optimizer = tiny_model(), torch.optim.AdamW(tiny_model().parameters(), lr=1e-3)
    assert load_ema(carried, resumed_ema) and not load_ema(stripped, tiny_model())
    assert resume_training(tmp_path / "none", carried, tiny_model(), resumed_optimizer)[0] == 3
    assert not resumed_optimizer.state_dict()["state"], "no optimizer moments travel: Adam starts afresh"


def test_the_moving_average_is_shipped_and_resumes_from_the_training_state(tmp_path):
    import copy

    model = tiny_model()
    ema = copy.deepcopy(model).requires_grad_(False)
    start = [p.clone() for p in ema.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    update_ema(ema, model, 0.9)
    for averaged, before in zip(ema.parameters(), start):
        assert torch.allclose(averaged, before + 0.1, atol=1e-6), "ema = 0.9 ema + 0.1 model"
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    weights, state = tmp_path / "w.safetensors", tmp_path / "s.safetensors"
    save_training(weights, state, model, optimizer, 5, {}, ema=ema)
    shipped = tiny_model()
    load_checkpoint(weights, shipped)
    for (name, a), (_, b) in zip(shipped.state_dict().items(), ema.state_dict().items()):
        assert torch.equal(a, b), f"the shipped weights are the moving average: {name}"
    resumed_model, resumed_ema = tiny_model(), tiny_model()
    assert resume_training(weights, state, resumed_model, torch.optim.AdamW(resumed_model.parameters()))[0] == 5
    assert load_ema(state, resumed_ema) and not load_ema(tmp_path / "none", resumed_ema)
    for (name, a), (_, b) in zip(resumed_model.state_dict().items(), model.state_dict().items()):
        assert torch.equal(a, b), f"training resumes from the raw weights: {name}"
    for (name, a), (_, b) in zip(resumed_ema.state_dict().items(), ema.state_dict().items()):
        assert torch.equal(a, b), name


def test_sampling_is_deterministic_keeps_the_context_and_follows_the_video_contract():
    model = tiny_model()
    nn.init.normal_(model["denoiser"].out.weight, std=0.1)  # zero at init: the sample would ignore the noise
    pipeline = VideoPipeline(FrameAutoencoder(8, 16), model["denoiser"], model["prompts"], LatentScale(0.0, 1.0), steps=3)
    context = np.random.default_rng(0).integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)
    first = pipeline([context], ["a red ball"], 8, [7])[0]
    assert first.shape == (8, 64, 64, 3) and first.dtype == np.uint8
    assert np.array_equal(first[:4], context)
    assert np.array_equal(first, pipeline([context], ["a red ball"], 8, [7])[0])
    assert not np.array_equal(first, pipeline([context], ["a red ball"], 8, [8])[0])


def test_prompt_encoder_takes_any_prompt():
    embedding = PromptEncoder(16)(["", "Ein roter Ball fällt 🎈", "a" * 10_000, "A red ball is dropped."])
    assert embedding.shape == (4, 16) and torch.isfinite(embedding).all()


def test_autoencoder_pixel_conversions_round_trip():
    frames = torch.randint(0, 256, (3, 64, 64, 3), dtype=torch.uint8)
    assert torch.equal(to_uint8(to_unit(frames)), frames)


def test_the_repository_weights_load_and_generate_a_clip():
    from generators import GENERATORS, GenerationRequest
    from simulators import make_spec, simulate

    clip = simulate(make_spec("free_fall", "eval", 0, n_frames=16))
    generator = GENERATORS.get("diffusion")(steps=2)
    assert len(generator.checksum()) == 16
    video = generator.generate([GenerationRequest.from_clip(clip)])[0]
    assert video.frames.shape == clip.video.shape and video.frames.dtype == np.uint8
    assert np.array_equal(video.frames[:4], clip.video[:4])


def test_autoencoder_latents_are_local_a_small_object_changes_only_nearby_cells():
    """With frame-wide normalisation (GroupNorm) a 3-pixel ball moved every latent cell of a flat frame
    and the sampled backgrounds washed out; every statistic must stay within a position."""
    torch.manual_seed(0)
    autoencoder = FrameAutoencoder(8, 16).eval()
    flat = torch.full((1, 64, 64, 3), 150, dtype=torch.uint8)
    ball = flat.clone()
    ball[0, 8:11, 8:11] = torch.tensor([200, 40, 40], dtype=torch.uint8)
    with torch.no_grad():
        change = (autoencoder.encode(to_unit(ball)) - autoencoder.encode(to_unit(flat))).abs()[0].amax(dim=0)
    assert change[:4, :4].max() > 1e-3  # the cells over the ball see it
    assert change[12:, 12:].max() == 0.0  # cells 40+ px away (beyond the receptive field) do not


def test_sampling_can_start_from_the_noised_last_context_frame():
    model = tiny_model()
    nn.init.normal_(model["denoiser"].out.weight, std=0.1)
    context = np.random.default_rng(1).integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)
    autoencoder = FrameAutoencoder(8, 16)
    samples = {}
    for start_sigma in (1.0, 0.3):
        pipeline = VideoPipeline(autoencoder, model["denoiser"], model["prompts"], LatentScale(0.0, 1.0), steps=3,
                                 start_sigma=start_sigma)
        samples[start_sigma] = pipeline([context], ["x"], 8, [3])[0]
        assert np.array_equal(samples[start_sigma][:4], context)
        assert np.array_equal(samples[start_sigma], pipeline([context], ["x"], 8, [3])[0])
    assert not np.array_equal(samples[1.0], samples[0.3])
    with pytest.raises(ValueError, match="start_sigma"):
        VideoPipeline(autoencoder, model["denoiser"], model["prompts"], LatentScale(0.0, 1.0), start_sigma=0.0)


def synthetic_training_set(n_clips: int = 2, n_frames: int = 8):
    from generators.diffusion.data import TrainingSet

    rng = np.random.default_rng(0)
    videos = np.full((n_clips, n_frames, 64, 64, 3), 120, np.uint8)
    masks = np.zeros((n_clips, n_frames, 64, 64), np.uint8)
    for clip in range(n_clips):
        for frame in range(n_frames):
            row, col = 20 + 2 * frame, 10 + 3 * clip
            videos[clip, frame, row:row + 5, col:col + 5] = rng.integers(0, 255, 3)
            masks[clip, frame, row - 1:row + 6, col - 1:col + 6] = 1
    return TrainingSet(videos, masks, [f"a ball falls {clip}" for clip in range(n_clips)],
                       [f"free_fall/train/{clip:05d}" for clip in range(n_clips)])


def test_a_training_set_file_round_trips_without_pickle(tmp_path):
    from generators.diffusion.data import read_training_set, save_training_set

    training_set = synthetic_training_set()
    path = save_training_set(training_set, tmp_path / "sets" / "train.npz")
    back = read_training_set(path)
    assert np.array_equal(back.videos, training_set.videos) and np.array_equal(back.object_masks, training_set.object_masks)
    assert back.prompts == training_set.prompts and back.clip_ids == training_set.clip_ids
    assert not list(path.parent.glob(".*tmp*")), "the staging file is renamed into place"
    with np.load(path, allow_pickle=False) as data:  # nothing in it needs unpickling
        assert {key: data[key].dtype.kind for key in data.files} == {
            "videos": "u", "object_masks": "u", "prompts": "U", "clip_ids": "U"}
    plain = save_training_set(training_set, tmp_path / "plain.npz", compress=False)
    assert np.array_equal(read_training_set(plain).videos, training_set.videos)
    assert plain.stat().st_size > path.stat().st_size, "uncompressed, for an outer compressor"
    with pytest.raises(FileNotFoundError, match="python -m generators.diffusion.data"):
        read_training_set(tmp_path / "missing.npz")


def test_training_sets_combine_and_a_clip_in_two_files_is_refused(tmp_path):
    from generators.diffusion.data import read_training_sets, save_training_set

    main_set = save_training_set(synthetic_training_set(), tmp_path / "main.npz")
    supplement = synthetic_training_set(n_clips=3)
    supplement.clip_ids = [f"collision/train/{seed:05d}" for seed in range(320, 323)]
    extra = save_training_set(supplement, tmp_path / "extra.npz")
    both = read_training_sets([main_set, extra])
    assert len(both.videos) == len(both.object_masks) == len(both.prompts) == 5
    assert both.clip_ids[2:] == supplement.clip_ids and np.array_equal(both.videos[2:], supplement.videos)
    with pytest.raises(ValueError, match="free_fall/train/00000 is in more than one file.*--first-seed"):
        read_training_sets([main_set, extra, main_set])


def test_object_cells_mark_the_latent_cells_that_hold_an_object():
    from generators.diffusion.train_denoiser import object_cells

    masks = np.zeros((3, 2, 64, 64), np.uint8)
    masks[1, 0, 9, 50] = 1  # one pixel: latent cell (2, 12)
    cells = object_cells(masks, chunk=2)
    assert cells.shape == (3, 2, 1, 16, 16)
    assert cells.sum() == 1 and cells[1, 0, 0, 2, 12] == 1


def test_training_from_a_data_file_keeps_copies_stops_on_time_and_resumes(tmp_path):
    from generators.diffusion.data import save_training_set
    from generators.diffusion.train_denoiser import main

    data = save_training_set(synthetic_training_set(), tmp_path / "train.npz")
    out, state = tmp_path / "w" / "denoiser.safetensors", tmp_path / "state.safetensors"
    common = ["--data", str(data), "--out", str(out), "--state", str(state), "--batch", "2", "--n-context", "2",
              "--device", "cpu", "--checkpoint-every", "1", "--ema", "0.9"]
    main(common + ["--steps", "2", "--keep-every", "2"])
    assert read_info(out)[0] == 2 and read_info(out.with_name("denoiser-step2.safetensors"))[0] == 2
    assert read_info(out)[1]["training_clips"] == 2 and read_info(out)[1]["device"] == "cpu"
    supplement = synthetic_training_set()
    supplement.videos[:] = 30  # a darker supplement: a fresh normalisation would differ
    supplement.clip_ids = [f"collision/train/{clip:05d}" for clip in range(2)]
    supplement_path = save_training_set(supplement, tmp_path / "more.npz")
    main([*common[:2], str(supplement_path), *common[2:], "--steps", "3"])
    assert read_info(state)[0] == 3, "a second run resumes from the state and goes on"
    first, second = read_info(out.with_name("denoiser-step2.safetensors"))[1], read_info(state)[1]
    assert second["training_clips"] == 4, "both files are trained on"
    assert (second["latent_mean"], second["latent_std"]) == (first["latent_mean"], first["latent_std"]), \
        "a resumed run keeps the normalisation its weights learned with"
    main(common + ["--steps", "100", "--max-minutes", "1e-9"])
    assert read_info(state)[0] == 3, "--max-minutes stops before another step and saves where it is"


def test_family_weights_draw_a_family_more_often_and_refuse_an_unknown_one():
    from generators.diffusion.train_denoiser import clip_draw_probabilities

    ids = ["collision/train/00000", "collision/train/00001", "free_fall/train/00000", "ramp/train/00000"]
    assert clip_draw_probabilities(ids, []) is None
    p = clip_draw_probabilities(ids, ["collision=3"])
    assert np.allclose(p, [3 / 8, 3 / 8, 1 / 8, 1 / 8])
    with pytest.raises(ValueError, match="FAMILY=W with FAMILY one of collision, free_fall, ramp"):
        clip_draw_probabilities(ids, ["colision=3"])


def test_learning_rate_warms_up_then_decays_linearly_and_defaults_to_constant():
    from generators.diffusion.train_denoiser import learning_rate

    assert learning_rate(5000, 3e-4) == 3e-4
    schedule = dict(lr=3e-4, lr_final=1e-5, warmup=100, schedule_start=1000, total_steps=2100)
    assert learning_rate(1000, **schedule) == pytest.approx(3e-6)  # first step after the start: 1/100 of lr
    assert learning_rate(1099, **schedule) == pytest.approx(3e-4)
    assert learning_rate(1100, **schedule) == pytest.approx(3e-4)
    assert learning_rate(1600, **schedule) == pytest.approx((3e-4 + 1e-5) / 2)
    assert learning_rate(2100, **schedule) == pytest.approx(1e-5)
    assert learning_rate(9999, **schedule) == pytest.approx(1e-5), "past --steps it stays at lr_final"


def test_the_gpu_launcher_needs_neither_pyav_nor_pybullet():
    """scripts/gpu_launch.py runs the trainer on a machine with torch alone (a lent GPU machine)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    code = ("import sys, runpy\n"
            "for name in ('av', 'pybullet', 'pybullet_data', 'hydra', 'diffusers', 'simulators'):\n"
            "    sys.modules[name] = None  # importing any of them now fails\n"
            f"sys.argv = ['gpu_launch.py', '--help']\n"
            f"runpy.run_path({str(root / 'scripts' / 'gpu_launch.py')!r}, run_name='__main__')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stderr
    assert "--family-weight" in result.stdout and "--data" in result.stdout
