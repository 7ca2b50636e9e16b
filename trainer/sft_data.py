"""The exported dataset as token ids and labels: loss on exactly the turns whose train flag is set.

A line is rendered with chatml exactly as the export wrote it (`<|im_start|>role\\n` content
`<|im_end|>\\n` per message) and tokenized whole, as inference sees it. A token is trained when it
starts inside a trained message's content or its closing `<|im_end|>`; the role header and the
newline after `<|im_end|>` are context.
"""

import json
from dataclasses import dataclass, field

from events import BadInput

IGNORE = -100
ROLES = ("system", "user", "assistant")


@dataclass
class Example:
    line_id: str
    input_ids: list
    labels: list


@dataclass
class Encoded:
    examples: list = field(default_factory=list)
    # Lines longer than the sequence length: reported, never cut.
    too_long: list = field(default_factory=list)
    # Lines with nothing to train on.
    untrained: list = field(default_factory=list)
    # Tokens before the first trained token, per line: the chat template's overhead.
    min_overhead: int = 0
    lines: int = 0


def read_lines(path: str) -> list:
    """The dataset's lines, each checked against the export format, with line numbers in errors."""
    try:
        with open(path, encoding="utf-8") as handle:
            raw = handle.read().splitlines()
    except FileNotFoundError:
        raise BadInput(f"dataset file {path} does not exist")
    lines = []
    for number, text in enumerate(raw, start=1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except json.JSONDecodeError as error:
            raise BadInput(f"dataset line {number} is not JSON: {error.msg}")
        lines.append(check_line(line, number))
    if not lines:
        raise BadInput(f"dataset {path} has no lines")
    return lines


def check_line(line, number: int) -> dict:
    def bad(why: str) -> BadInput:
        return BadInput(f"dataset line {number} is not the export format: {why}")

    if not isinstance(line, dict):
        raise bad("not a JSON object")
    messages = line.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad('"messages" must be a non-empty list')
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise bad(f"{where} is not an object")
        if message.get("role") not in ROLES:
            raise bad(f"{where}.role must be one of {', '.join(ROLES)}")
        if not isinstance(message.get("content"), str):
            raise bad(f"{where}.content must be a string")
        if not isinstance(message.get("train"), bool):
            raise bad(f"{where}.train must be true or false")
    line_id = line.get("id")
    return {"id": line_id if isinstance(line_id, str) else f"line-{number}", "messages": messages}


def render(messages: list) -> tuple:
    """The chatml text and the character spans that are trained."""
    text = ""
    spans = []
    for message in messages:
        text += f"<|im_start|>{message['role']}\n"
        start = len(text)
        text += message["content"] + "<|im_end|>"
        if message["train"]:
            spans.append((start, len(text)))
        text += "\n"
    return text, spans


def encode_line(tokenizer, line: dict) -> Example:
    text, spans = render(line["messages"])
    encoding = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = encoding["input_ids"]
    labels = []
    span = 0
    for token, (start, _end) in zip(ids, encoding["offset_mapping"]):
        while span < len(spans) and start >= spans[span][1]:
            span += 1
        inside = span < len(spans) and spans[span][0] <= start < spans[span][1]
        labels.append(token if inside else IGNORE)
    return Example(line_id=line["id"], input_ids=ids, labels=labels)


def encode_dataset(tokenizer, lines: list, sequence_length: int) -> Encoded:
    encoded = Encoded(lines=len(lines))
    overheads = []
    for line in lines:
        example = encode_line(tokenizer, line)
        first = next((i for i, label in enumerate(example.labels) if label != IGNORE), None)
        if first is None:
            encoded.untrained.append(example.line_id)
            continue
        overheads.append(first)
        if len(example.input_ids) > sequence_length:
            encoded.too_long.append({"id": example.line_id, "tokens": len(example.input_ids)})
            continue
        encoded.examples.append(example)
    encoded.min_overhead = min(overheads) if overheads else 0
    if overheads and sequence_length <= encoded.min_overhead:
        raise BadInput(
            f"sequence length {sequence_length} is smaller than the chat template's overhead: every "
            f"line has at least {encoded.min_overhead} tokens (system prompt with the tool schemas, "
            "first user turn, role headers) before its first trained token"
        )
    if not encoded.examples:
        if encoded.too_long:
            longest = max(item["tokens"] for item in encoded.too_long)
            raise BadInput(
                f"all {len(encoded.too_long)} trainable lines are longer than the sequence length "
                f"{sequence_length} (the longest has {longest} tokens); raise sequenceLength or "
                "export the dataset with a smaller maxTokens"
            )
        raise BadInput("no dataset line has a message with train: true")
    return encoded


def trained_text(tokenizer, example: Example) -> list:
    """The trained tokens decoded, one string per contiguous run: what the loss sees."""
    runs = []
    current = []
    for token, label in zip(example.input_ids, example.labels):
        if label != IGNORE:
            current.append(token)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return [tokenizer.decode(run, skip_special_tokens=False) for run in runs]


class Collator:
    """Pads a batch to its longest example; padding is neither attended to nor trained."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, batch: list) -> dict:
        import torch

        longest = max(len(item["input_ids"]) for item in batch)
        ids, labels, mask = [], [], []
        for item in batch:
            pad = longest - len(item["input_ids"])
            ids.append(item["input_ids"] + [self.pad_id] * pad)
            labels.append(item["labels"] + [IGNORE] * pad)
            mask.append([1] * len(item["input_ids"]) + [0] * pad)
        from trained_positions import positions_of

        labels = torch.tensor(labels)
        return {
            "input_ids": torch.tensor(ids),
            "labels": labels,
            "attention_mask": torch.tensor(mask),
            "logits_to_keep": positions_of(labels),
        }
