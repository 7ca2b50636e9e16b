"""How far apart two model folders' weights are: the largest absolute difference of any parameter.

    python trainer/compare_models.py <folder a> <folder b>

Prints JSON: {"max_abs_diff": x, "tensors": n}. Exit status 2 when the tensor names differ.
"""

import json
import os
import sys


def main() -> None:
    from safetensors.torch import load_file

    a, b = (load_file(os.path.join(folder, "model.safetensors")) for folder in sys.argv[1:3])
    if set(a) != set(b):
        print(json.dumps({"error": "different tensors", "only_a": sorted(set(a) - set(b)), "only_b": sorted(set(b) - set(a))}))
        sys.exit(2)
    worst = max(float((a[name].float() - b[name].float()).abs().max()) for name in a)
    print(json.dumps({"max_abs_diff": worst, "tensors": len(a)}))


if __name__ == "__main__":
    main()
