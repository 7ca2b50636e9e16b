"""The reference side of the tokenizer and template tests: Hugging Face transformers (what vLLM
and the trainers use) loads the same Qwen3 tokenizer files and answers on stdout.

stdin: {"tokenizer_dir", "strings", "conversations": [{"messages", "tools"}],
        "training_template", "sft_conversations": [[{"role", "content", "train"}]]}
"""
import json
import sys

from transformers import AutoTokenizer


def main() -> None:
    request = json.load(sys.stdin)
    tokenizer = AutoTokenizer.from_pretrained(request["tokenizer_dir"])
    ids = [tokenizer.encode(s, add_special_tokens=False) for s in request["strings"]]
    renders = [
        tokenizer.apply_chat_template(c["messages"], tools=c["tools"], tokenize=False)
        for c in request["conversations"]
    ]
    trained = []
    for messages in request["sft_conversations"]:
        out = tokenizer.apply_chat_template(
            messages,
            chat_template=request["training_template"],
            tokenize=True,
            return_dict=True,
            return_assistant_tokens_mask=True,
        )
        tokens = out["input_ids"]
        mask = out["assistant_masks"]
        trained.append(
            {
                "text": tokenizer.decode(tokens),
                "trained": tokenizer.decode([t for t, m in zip(tokens, mask) if m]),
            }
        )
    json.dump({"ids": ids, "renders": renders, "trained": trained}, sys.stdout)


main()
