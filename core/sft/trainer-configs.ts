import { stringify } from 'yaml';
import type { DatasetConfig } from './dataset-config';
import { PRESETS } from '../train/train-config';

/**
 * Trainer configurations that go with an exported dataset, holding the paper's recipe (the
 * `paper` training preset: Qwen3, chatml, 3 epochs, learning rate 1e-5 cosine, AdamW betas
 * 0.9/0.95, weight decay 0.01, warmup ratio 0.19, DeepSpeed ZeRO-3) and the dataset's context.
 */
export const PAPER_RECIPE = PRESETS.paper.recipe;

/**
 * A chatml template that renders the dataset's messages exactly as `renderChatml` does and marks
 * the trained messages (train: true) for TRL's `assistant_only_loss`, content and `<|im_end|>`.
 */
export const CHATML_TRAINING_TEMPLATE = [
  '{%- for message in messages %}',
  "{{- '<|im_start|>' + message['role'] + '\\n' }}",
  "{%- if message['train'] %}",
  "{%- generation %}{{- message['content'] + '<|im_end|>' }}{%- endgeneration %}{{- '\\n' }}",
  '{%- else %}',
  "{{- message['content'] + '<|im_end|>\\n' }}",
  '{%- endif %}',
  '{%- endfor %}',
].join('');

export function axolotlConfig(config: DatasetConfig, datasetFile: string): string {
  return stringify({
    base_model: config.baseModel,
    chat_template: 'chatml',
    datasets: [
      {
        path: datasetFile,
        ds_type: 'json',
        type: 'chat_template',
        field_messages: 'messages',
        message_property_mappings: { role: 'role', content: 'content' },
        // The per-message flag decides what is trained: exactly the assistant turns.
        message_field_training: 'train',
        roles_to_train: ['assistant'],
        train_on_eos: 'turn',
      },
    ],
    sequence_len: config.maxTokens,
    sample_packing: false,
    num_epochs: PAPER_RECIPE.epochs,
    learning_rate: PAPER_RECIPE.learningRate,
    lr_scheduler: PAPER_RECIPE.scheduler,
    warmup_ratio: PAPER_RECIPE.warmupRatio,
    optimizer: 'adamw_torch',
    adam_beta1: PAPER_RECIPE.adamBeta1,
    adam_beta2: PAPER_RECIPE.adamBeta2,
    weight_decay: PAPER_RECIPE.weightDecay,
    micro_batch_size: PAPER_RECIPE.perDeviceBatchSize,
    gradient_accumulation_steps: PAPER_RECIPE.gradientAccumulationSteps,
    bf16: true,
    gradient_checkpointing: true,
    flash_attention: true,
    deepspeed: 'deepspeed_configs/zero3_bf16.json',
    output_dir: './outputs/sera-student',
  });
}

export function trlConfig(config: DatasetConfig, datasetFile: string, templateFile: string): string {
  return stringify({
    model_name_or_path: config.baseModel,
    dataset_name: 'json',
    data_files: datasetFile,
    chat_template_path: templateFile,
    assistant_only_loss: true,
    max_length: config.maxTokens,
    packing: false,
    num_train_epochs: PAPER_RECIPE.epochs,
    learning_rate: PAPER_RECIPE.learningRate,
    lr_scheduler_type: PAPER_RECIPE.scheduler,
    warmup_ratio: PAPER_RECIPE.warmupRatio,
    adam_beta1: PAPER_RECIPE.adamBeta1,
    adam_beta2: PAPER_RECIPE.adamBeta2,
    weight_decay: PAPER_RECIPE.weightDecay,
    per_device_train_batch_size: PAPER_RECIPE.perDeviceBatchSize,
    gradient_accumulation_steps: PAPER_RECIPE.gradientAccumulationSteps,
    bf16: true,
    gradient_checkpointing: true,
    output_dir: './outputs/sera-student',
  });
}
