"""Logits and loss at the trained positions only.

A causal LM's logit at position p predicts token p + 1, so only positions whose next label is
trained matter. Computing the full logits would materialize sequence x vocabulary floats
(32,768 x 151,936 in bf16 is 10 GB per sequence) to throw most of them away; instead the collator
passes the model those positions (`logits_to_keep`) and the loss reads the matching labels.
"""

import torch
import torch.nn.functional as F

IGNORE = -100


def positions_of(labels: torch.Tensor) -> torch.Tensor:
    """Positions, shared by the batch's rows, whose next token is trained in some row."""
    return (labels[:, 1:] != IGNORE).any(dim=0).nonzero().squeeze(-1)


def loss_at_trained_positions(outputs, labels, num_items_in_batch=None):
    """Summed cross-entropy over trained tokens, divided by the trained tokens of the whole
    accumulated batch (what the Trainer passes as `num_items_in_batch`), as the dense loss does."""
    positions = positions_of(labels).to(labels.device)
    targets = labels[:, positions + 1]
    logits = outputs.logits.float()
    total = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE, reduction="sum"
    )
    count = num_items_in_batch if num_items_in_batch is not None else (targets != IGNORE).sum()
    if torch.is_tensor(count):
        count = count.to(total.device)
    return total / count
