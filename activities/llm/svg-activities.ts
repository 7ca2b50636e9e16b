import type { ModelSettings } from '../../core/agent/rollout-input';
import { judgeAnswer, judgePrompt, type JudgeStyle } from '../../core/agent/side-prompts';
import type { TokenUsage } from '../../core/agent/trajectory';
import type { ArtifactRef, ArtifactStore } from '../../core/artifacts';
import {
  capFunctions,
  planSample,
  type IndexedFunction,
  type PlannedSample,
} from '../../core/function-sampling';
import { softVerify, type SoftVerification } from '../../core/soft-verify';
import type { LedgerEntry } from '../../core/sft/sample-record';
import { countDuplicates, foldLedger, readLedger } from '../common/ledger';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes } from '../../core/errors';
import { chatOnce, openaiClient } from './chat';
import { asModelFailure } from './model-errors';
import { judgeTrajectory, writeSyntheticPr, type JudgeOutcome, type PrOutcome } from './side-calls';
import { loadTrajectory } from './trajectory-store';

async function readDemonstrations(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw ApplicationFailure.create({
      type: ErrorTypes.InvalidInput,
      message: `cannot read the demonstrations file ${file} on this llm worker: ${(error as Error).message}`,
      nonRetryable: true,
    });
  }
  const issues = text
    .split(/^---\s*$/m)
    .map((t) => t.trim())
    .filter(Boolean);
  if (issues.length === 0) {
    throw ApplicationFailure.create({
      type: ErrorTypes.InvalidInput,
      message: `${file} holds no issue text`,
      nonRetryable: true,
    });
  }
  return issues;
}

/** The SVG steps besides rollouts: planning a sample, the judge, the PR writer, verification, records. */
export function createSvgActivities(deps: { artifacts: ArtifactStore }) {
  const text = async (ref: ArtifactRef): Promise<string> =>
    (await deps.artifacts.get(ref.id)).toString('utf8');
  return {
    async planSampleFromIndex(input: {
      functions: ArtifactRef;
      templates: number[];
      seed: number;
      index: number;
    }): Promise<PlannedSample> {
      const functions = JSON.parse(await text(input.functions)) as IndexedFunction[];
      return planSample(
        capFunctions(functions, functions.length, input.seed),
        input.templates,
        input.seed,
        input.index,
      );
    },

    /** Before a run spends anything: the endpoint answers and serves the model. */
    async checkTeacher(input: {
      model: ModelSettings;
      demonstrationsFile?: string;
      /** What the model is for, in the error message: the teacher (default), the evaluated model. */
      role?: string;
    }): Promise<{ models: number }> {
      // The demonstrations file is read by these workers later: a missing one stops the run now.
      if (input.demonstrationsFile) await readDemonstrations(input.demonstrationsFile);
      let ids: string[];
      try {
        const page = await openaiClient({ ...input.model, requestTimeoutSeconds: 20 }).models.list();
        ids = page.data.map((m) => m.id);
      } catch (error) {
        const failure = asModelFailure(error, input.model.baseUrl, input.model.model);
        // At the start of a run an endpoint that does not answer is a wrong setting, not a hiccup.
        throw ApplicationFailure.create({
          type: failure.type ?? ErrorTypes.ModelUnavailable,
          message: `the ${input.role ?? 'teacher'} at ${input.model.baseUrl} cannot be used: ${failure.message}`,
          nonRetryable: true,
        });
      }
      if (!ids.includes(input.model.model)) {
        throw ApplicationFailure.create({
          type: ErrorTypes.ModelNotFound,
          message: `${input.model.baseUrl} does not serve ${JSON.stringify(input.model.model)}; it serves: ${ids.slice(0, 10).join(', ') || 'nothing'}`,
          nonRetryable: true,
        });
      }
      return { models: ids.length };
    },

    /** The spec's judge, one call (samples started before the judge-reruns patch call it). */
    async judgePatch(input: {
      patch: ArtifactRef;
      model: ModelSettings;
    }): Promise<{ answer?: 'yes' | 'no'; reply: string; usage: TokenUsage }> {
      const { text: reply, usage } = await chatOnce(input.model, judgePrompt(await text(input.patch)));
      return { answer: judgeAnswer(reply), reply: reply.slice(0, 200), usage };
    },

    /** The judge of rollout 1, with its own asking again and shortening (side-calls.ts). */
    async judgeRollout(input: {
      trajectory: ArtifactRef;
      patch: ArtifactRef;
      style: JudgeStyle;
      tries: number;
      model: ModelSettings;
    }): Promise<JudgeOutcome> {
      return judgeTrajectory({
        trajectory: await loadTrajectory(deps.artifacts, input.trajectory),
        patch: await text(input.patch),
        style: input.style,
        tries: input.tries,
        model: input.model,
      });
    },

    /** The PR writer as samples before the judge-reruns patch call it: every demonstration, one call. */
    async writePrDescription(input: {
      trajectory: ArtifactRef;
      demonstrations: string[];
      demonstrationsFile?: string;
      model: ModelSettings;
    }): Promise<{ description?: string; usage: TokenUsage }> {
      const pool = input.demonstrationsFile
        ? await readDemonstrations(input.demonstrationsFile)
        : input.demonstrations;
      const pr = await writeSyntheticPr({
        trajectory: await loadTrajectory(deps.artifacts, input.trajectory),
        pool,
        demonstrations: pool.length,
        seed: [0],
        shortenings: 0,
        tries: 1,
        model: input.model,
      });
      return { description: pr.description, usage: pr.usage };
    },

    /**
     * The PR writer: rollout 1's steps from where the judge left off, `demonstrationCount` issues
     * drawn from the pool with the sample's seed, asked again while the answer has no output tags.
     */
    async writePr(input: {
      trajectory: ArtifactRef;
      demonstrations: string[];
      demonstrationsFile?: string;
      demonstrationCount: number;
      seed: Array<string | number>;
      shortenings: number;
      tries: number;
      model: ModelSettings;
    }): Promise<PrOutcome> {
      const pool = input.demonstrationsFile
        ? await readDemonstrations(input.demonstrationsFile)
        : input.demonstrations;
      return writeSyntheticPr({
        trajectory: await loadTrajectory(deps.artifacts, input.trajectory),
        pool,
        demonstrations: input.demonstrationCount,
        seed: input.seed,
        shortenings: input.shortenings,
        tries: input.tries,
        model: input.model,
      });
    },

    async verifyPatches(input: {
      patch1: ArtifactRef;
      patch2: ArtifactRef;
      threshold: number;
    }): Promise<SoftVerification> {
      return softVerify(await text(input.patch1), await text(input.patch2), input.threshold);
    },

    async writeRecord(input: { record: unknown }): Promise<ArtifactRef> {
      return deps.artifacts.put(JSON.stringify(input.record, null, 2), 'application/json');
    },

    /** One continue-as-new segment's finished samples, for the dataset stage to read later. */
    async writeLedgerChunk(input: { entries: LedgerEntry[] }): Promise<string> {
      return (await deps.artifacts.put(JSON.stringify(input.entries), 'application/json')).id;
    },

    /**
     * Folds a run's ledger ids (chunks, and an earlier index's list) into one index artifact, so
     * the run carries one id however many segments it had.
     */
    async writeLedgerIndex(input: { ledger: string[] }): Promise<string> {
      const index = await foldLedger(deps.artifacts, input.ledger);
      return (await deps.artifacts.put(JSON.stringify(index), 'application/json')).id;
    },

    /** How many accepted samples the duplicate rule turns away when the ledger is read. */
    async countLedgerDuplicates(input: { ledger: string[] }): Promise<number> {
      return countDuplicates(deps.artifacts, input.ledger);
    },

    /**
     * Writes `<output>/<runId>/manifest.json` (the run's result plus the accepted samples, read
     * from its ledger) and one file per accepted sample's record.
     */
    async writeRunManifest(input: {
      output: string;
      runId: string;
      manifest: { ledger: string[] } & Record<string, unknown>;
    }): Promise<string> {
      const dir = path.join(input.output, input.runId);
      await mkdir(path.join(dir, 'accepted'), { recursive: true });
      const accepted: Array<{ index: number; record: string }> = [];
      for (const entry of await readLedger(deps.artifacts, input.manifest.ledger))
        if (entry.accepted && entry.record) accepted.push({ index: entry.index, record: entry.record });
      for (const a of accepted) {
        await writeFile(
          path.join(dir, 'accepted', `sample-${String(a.index).padStart(6, '0')}.json`),
          await deps.artifacts.get(a.record),
        );
      }
      const file = path.join(dir, 'manifest.json');
      await writeFile(file, JSON.stringify({ ...input.manifest, accepted }, null, 2));
      return file;
    },
  };
}

export type SvgActivities = ReturnType<typeof createSvgActivities>;
