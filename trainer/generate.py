"""Loads a trained model folder with transformers and answers one chat message with its chat template.

    python trainer/generate.py <model folder> [--message TEXT] [--max-new-tokens N]

Prints one JSON object: the prompt as the chat template rendered it, the generated text, and
token counts. A smoke test that a checkpoint is whole and usable, before it is served.
"""

import argparse
import json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("--message", default="Fix the failing test in the repository.")
    parser.add_argument("--max-new-tokens", type=int, default=16)
    options = parser.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(options.model)
    model = AutoModelForCausalLM.from_pretrained(options.model)
    model.eval()
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": options.message}], tokenize=False, add_generation_prompt=True
    )
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        out = model.generate(
            **ids, max_new_tokens=options.max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id
        )
    new = out[0][ids["input_ids"].shape[1] :]
    print(
        json.dumps(
            {
                "prompt": prompt,
                "prompt_tokens": int(ids["input_ids"].shape[1]),
                "generated_tokens": int(new.shape[0]),
                "text": tokenizer.decode(new, skip_special_tokens=False),
                "architecture": model.config.architectures,
            }
        )
    )


if __name__ == "__main__":
    main()
