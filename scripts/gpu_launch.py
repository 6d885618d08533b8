"""Run the denoiser's trainer where only torch, numpy, safetensors and tqdm are installed (a bare GPU machine).

`generators/__init__.py` registers every generator and imports PyAV and pybullet; the trainer needs neither
when it reads its clips from a training-set file. This launcher imports generators.diffusion.train_denoiser
without that package __init__ and passes its arguments on:

    python scripts/gpu_launch.py --data train-320.npz --device cuda --batch 64 ...
"""
import sys
import types
from pathlib import Path

root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root))
package = types.ModuleType("generators")
package.__path__ = [str(root / "generators")]
sys.modules["generators"] = package
from generators.diffusion import train_denoiser  # noqa: E402

train_denoiser.main(sys.argv[1:])
