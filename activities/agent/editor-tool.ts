import path from 'node:path';
import type Docker from 'dockerode';
import { insertAfter, strReplace, viewFile, type EditOutcome } from '../../core/agent/editor';
import type { ToolAction } from '../../core/agent/tool-call';
import { execInSandbox } from '../sandbox/exec';
import { readSandboxFile, writeSandboxFile } from '../sandbox/files';

type EditorAction = Extract<ToolAction, { tool: 'str_replace_editor' }>;

/** Each file's earlier versions, newest last, kept inside the container (null: it did not exist). */
function undoFile(absolute: string): string {
  return `/tmp/sera-undo-${Buffer.from(absolute).toString('hex').slice(0, 200)}.json`;
}

async function pushUndo(
  docker: Docker,
  container: string,
  absolute: string,
  previous: string | null,
): Promise<void> {
  const stack = JSON.parse((await readSandboxFile(docker, container, undoFile(absolute))) ?? '[]') as Array<
    string | null
  >;
  stack.push(previous);
  await writeSandboxFile(docker, container, undoFile(absolute), JSON.stringify(stack));
}

async function run(
  docker: Docker,
  container: string,
  command: string,
): Promise<{ exitCode: number; output: string }> {
  return execInSandbox(docker, { container, command, timeoutSeconds: 30, outputCapBytes: 256 * 1024 });
}

/** The str_replace_editor tool against a sandbox; returns what the model is shown. */
export async function runEditor(
  docker: Docker,
  container: string,
  action: EditorAction,
): Promise<EditOutcome> {
  const absolute = path.posix.resolve('/repo', action.path);
  const quoted = `'${absolute.replace(/'/g, `'\\''`)}'`;
  const kind = (
    await run(
      docker,
      container,
      `if [ -d ${quoted} ]; then echo dir; elif [ -f ${quoted} ]; then echo file; else echo missing; fi`,
    )
  ).output.trim();

  switch (action.command) {
    case 'view': {
      if (kind === 'dir') {
        const listing = await run(
          docker,
          container,
          `find ${quoted} -maxdepth 2 -not -path '*/.git' -not -path '*/.git/*' -not -name '__pycache__' | sort | head -300`,
        );
        return {
          ok: true,
          content: '',
          message: `Files and directories in ${absolute}, two levels deep:\n${listing.output.trimEnd()}`,
        };
      }
      if (kind !== 'file') return { ok: false, message: `Error: ${absolute} does not exist` };
      return viewFile(absolute, (await readSandboxFile(docker, container, absolute)) ?? '', action.viewRange);
    }
    case 'create': {
      if (kind !== 'missing')
        return { ok: false, message: `Error: ${absolute} already exists; use str_replace to change it` };
      await run(docker, container, `mkdir -p '${path.posix.dirname(absolute).replace(/'/g, `'\\''`)}'`);
      await pushUndo(docker, container, absolute, null);
      await writeSandboxFile(docker, container, absolute, action.fileText ?? '');
      return { ok: true, content: action.fileText ?? '', message: `File created: ${absolute}` };
    }
    case 'str_replace':
    case 'insert': {
      if (kind !== 'file') return { ok: false, message: `Error: ${absolute} is not a file` };
      const before = (await readSandboxFile(docker, container, absolute)) ?? '';
      const outcome =
        action.command === 'str_replace'
          ? strReplace(absolute, before, action.oldStr ?? '', action.newStr ?? '')
          : insertAfter(absolute, before, action.insertLine ?? 0, action.newStr ?? '');
      if (outcome.ok) {
        await pushUndo(docker, container, absolute, before);
        await writeSandboxFile(docker, container, absolute, outcome.content);
      }
      return outcome;
    }
    case 'undo_edit': {
      const stack = JSON.parse(
        (await readSandboxFile(docker, container, undoFile(absolute))) ?? '[]',
      ) as Array<string | null>;
      if (stack.length === 0) return { ok: false, message: `Error: there is no edit of ${absolute} to undo` };
      const previous = stack.pop() ?? null;
      if (previous === null) await run(docker, container, `rm -f ${quoted}`);
      else await writeSandboxFile(docker, container, absolute, previous);
      await writeSandboxFile(docker, container, undoFile(absolute), JSON.stringify(stack));
      return { ok: true, content: previous ?? '', message: `The last edit of ${absolute} was undone.` };
    }
  }
}
