"""generator=diffusers on tiny randomly initialised pipelines saved to tmp_path (no network, no weights)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("accelerate")
diffusers = pytest.importorskip("diffusers")

import generators.diffusers_adapter as adapter  # noqa: E402  (registers "diffusers")
import simulators  # noqa: E402
from bench.run import ConfigError, make_generator  # noqa: E402
from generators import GENERATORS, GenerationRequest  # noqa: E402

WORDS = "a red green blue ball falls is thrown from the left edge to right and lands on grey floor seen side".split()


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models run fastest on one thread (and the machine is shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_tokenizer():
    """A word-level tokenizer built in memory (T5-style pad/eos/unk), so no vocabulary is downloaded."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocabulary = {word: index for index, word in enumerate(["<pad>", "</s>", "<unk>", *WORDS])}
    tokenizer = Tokenizer(models.WordLevel(vocabulary, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")


def save_wan_text_to_video(folder: Path) -> Path:
    """A tiny WanPipeline (text-to-video), sized as in diffusers' own tests."""
    from transformers import UMT5Config, UMT5EncoderModel

    torch.manual_seed(0)
    vae = diffusers.AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                                     temperal_downsample=[False, True, True])
    text_encoder = UMT5EncoderModel(UMT5Config(vocab_size=32, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
                                               relative_attention_num_buckets=8))
    transformer = diffusers.WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16, out_channels=16,
        text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32)
    pipeline = diffusers.WanPipeline(transformer=transformer, vae=vae, text_encoder=text_encoder,
                                     tokenizer=tiny_tokenizer(),
                                     scheduler=diffusers.FlowMatchEulerDiscreteScheduler(shift=7.0))
    pipeline.save_pretrained(folder)
    return folder


def save_svd_image_to_video(folder: Path) -> Path:
    """A tiny StableVideoDiffusionPipeline (image-to-video, no prompt, takes fps)."""
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(0)
    unet = diffusers.UNetSpatioTemporalConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=32, in_channels=8, out_channels=4,
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"), cross_attention_dim=32,
        num_attention_heads=2, projection_class_embeddings_input_dim=96, addition_time_embed_dim=32)
    scheduler = diffusers.EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", interpolation_type="linear",
        prediction_type="v_prediction", sigma_max=700.0, sigma_min=0.002, steps_offset=1, timestep_spacing="leading",
        timestep_type="continuous", use_karras_sigmas=True)
    vae = diffusers.AutoencoderKLTemporalDecoder(block_out_channels=[32, 64], in_channels=3, out_channels=3,
                                                 down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
                                                 latent_channels=4)
    # SVD resizes the conditioning image to 224x224 for its image encoder.
    image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=32, projection_dim=32, num_hidden_layers=2, num_attention_heads=4, image_size=224,
        intermediate_size=37, patch_size=32))
    pipeline = diffusers.StableVideoDiffusionPipeline(unet=unet, image_encoder=image_encoder, scheduler=scheduler,
                                                      vae=vae, feature_extractor=CLIPImageProcessor(crop_size=32,
                                                                                                    size=32))
    pipeline.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def wan_folder(tmp_path_factory) -> Path:
    return save_wan_text_to_video(tmp_path_factory.mktemp("wan"))


@pytest.fixture(scope="module")
def svd_folder(tmp_path_factory) -> Path:
    return save_svd_image_to_video(tmp_path_factory.mktemp("svd"))


@pytest.fixture(scope="module")
def clip() -> simulators.Clip:
    return simulators.simulate(simulators.make_spec("free_fall", "eval", 0, n_frames=8, resolution=(64, 64),
                                                    n_context=4))


def load(folder: Path, **options):
    return GENERATORS.get("diffusers")(path=str(folder), steps=2, height=32, width=32, **options)


def check_video(video, clip) -> None:
    assert video.frames.dtype == np.uint8
    assert video.shape == (8, 64, 64, 3)
    assert video.fps == clip.spec.fps
    np.testing.assert_array_equal(video.frames[:4], clip.video[:4])


def test_text_to_video_pipeline(wan_folder, clip):
    generator = load(wan_folder)
    request = GenerationRequest.from_clip(clip, seed=3)
    assert generator.mode == "t2v"
    arguments = generator.call_arguments([request])
    assert arguments["prompt"] == clip.prompt and "image" not in arguments
    assert (arguments["num_frames"], arguments["height"], arguments["width"]) == (8, 32, 32)
    # Wan makes 4k+1 frames (9 for 8): the adapter keeps the first 8.
    assert len(generator.pipeline(**arguments).frames[0]) == 9
    first, again = generator.generate([request])[0], generator.generate([request])[0]
    check_video(first, clip)
    np.testing.assert_array_equal(first.frames, again.frames)
    other_seed = generator.generate([dataclasses.replace(request, seed=4)])[0]
    assert not np.array_equal(other_seed.frames[4:], first.frames[4:])


def test_batched_calls_match_single_calls(wan_folder, clip):
    requests = [GenerationRequest.from_clip(clip, seed=seed) for seed in (0, 1)]
    single = load(wan_folder).generate(requests)
    batched = load(wan_folder, batch_size=2).generate(requests)
    for one, both in zip(single, batched):
        assert np.abs(one.frames.astype(int) - both.frames.astype(int)).max() <= 1


def test_image_to_video_pipeline(svd_folder, clip):
    generator = load(svd_folder)
    request = GenerationRequest.from_clip(clip, seed=3)
    assert generator.mode == "i2v"
    arguments = generator.call_arguments([request])
    assert "prompt" not in arguments and "guidance_scale" not in arguments and arguments["fps"] == 8
    assert arguments["image"].size == (32, 32)
    video = generator.generate([request])[0]
    check_video(video, clip)
    np.testing.assert_array_equal(video.frames, generator.generate([request])[0].frames)
    darker = dataclasses.replace(request, context=(request.context // 2).astype(np.uint8))
    assert not np.array_equal(generator.generate([darker])[0].frames[4:], video.frames[4:])


def test_too_few_frames_is_refused(wan_folder, clip):
    generator = load(wan_folder, num_frames=6)  # Wan rounds 6 down to 5
    with pytest.raises(adapter.PipelineOutputError, match="returned 5 frames, the suite needs 8") as error:
        generator.generate([GenerationRequest.from_clip(clip)])
    assert "\n" not in str(error.value)


def test_missing_folder_is_one_line(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(ConfigError) as error:
        make_generator({"name": "diffusers", "path": str(missing)}, ground_truth=None)
    assert str(missing) in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(ConfigError, match="no model_index.json"):
        make_generator({"name": "diffusers", "path": str(tmp_path)}, ground_truth=None)


def test_image_pipeline_is_refused(tmp_path):
    torch.manual_seed(0)
    unet = diffusers.UNet2DModel(sample_size=32, in_channels=3, out_channels=3, layers_per_block=1,
                                 block_out_channels=(32, 32), down_block_types=("DownBlock2D", "DownBlock2D"),
                                 up_block_types=("UpBlock2D", "UpBlock2D"), norm_num_groups=8)
    diffusers.DDPMPipeline(unet=unet, scheduler=diffusers.DDPMScheduler()).save_pretrained(tmp_path)
    with pytest.raises(ConfigError, match="DDPMPipeline is not a video pipeline") as error:
        make_generator({"name": "diffusers", "path": str(tmp_path)}, ground_truth=None)
    assert str(tmp_path) in str(error.value) and "\n" not in str(error.value)


def test_outputs_convert_to_the_same_uint8_video():
    from PIL import Image

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(3, 5, 7, 3), dtype=np.uint8)
    floats = frames.astype(np.float32) / 255.0
    pil = [Image.fromarray(frame) for frame in frames]
    channels_first = torch.from_numpy(floats).permute(0, 3, 1, 2)
    for output in (frames, floats, pil, channels_first):
        np.testing.assert_array_equal(adapter.to_uint8_video(output), frames)
    with pytest.raises(adapter.PipelineOutputError):
        adapter.to_uint8_video(frames[..., 0])


def test_generation_size_policy(wan_folder):
    pipeline = load(wan_folder).pipeline
    assert adapter.generation_size(pipeline, None, None) == (480, 832)  # WanPipeline's call defaults
    assert adapter.generation_size(pipeline, 70, 100) == (64, 96)
    with pytest.raises(ValueError, match="both generator.height and generator.width"):
        adapter.generation_size(pipeline, 64, None)
