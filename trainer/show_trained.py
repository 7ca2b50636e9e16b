"""What the loss sees in one dataset line: the trained tokens, decoded, one string per run.

    python trainer/show_trained.py <tokenizer folder> <dataset.jsonl> [--line N]

Prints JSON: {"runs": [...], "tokens": N, "trained": N}. Each run should be one assistant
message's content followed by <|im_end|>, and nothing else.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sft_data import encode_line, read_lines, trained_text  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tokenizer")
    parser.add_argument("dataset")
    parser.add_argument("--line", type=int, default=0, help="0-based index among the non-blank lines")
    options = parser.parse_args()

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(options.tokenizer)
    example = encode_line(tokenizer, read_lines(options.dataset)[options.line])
    print(
        json.dumps(
            {
                "runs": trained_text(tokenizer, example),
                "tokens": len(example.input_ids),
                "trained": sum(1 for label in example.labels if label != -100),
            }
        )
    )


if __name__ == "__main__":
    main()
