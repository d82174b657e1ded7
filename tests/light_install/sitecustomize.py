"""Put on PYTHONPATH, this makes a process see the light install: no torch, transformers,
sentence-transformers or huggingface_hub, as if `pip install shashin` had left them out."""

import sys

LEFT_OUT = ("torch", "torchvision", "transformers", "sentence_transformers", "huggingface_hub", "accelerate")


class _LeftOut:
    def find_spec(self, name, path=None, target=None):  # type: ignore[no-untyped-def]
        if name.split(".")[0] in LEFT_OUT:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _LeftOut())
