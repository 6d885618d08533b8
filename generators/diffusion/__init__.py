"""The bundled video diffusion model: autoencoder, denoiser, schedule/sampler, pipeline, training.

One file per piece, as in diffusers: the network (autoencoder.py) is separate from the data
(data.py), from checkpoints (checkpoint.py) and from the loops that train them.
"""
