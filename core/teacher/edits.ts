import { braceEditCandidates } from './brace-edits';
import { languageOf } from './languages';
import { editCandidates, type EditCandidate, type EditKind } from './python-edits';

/**
 * The edits a function in `file` admits, in the file's language. `near` (a 0-based line of
 * `source`) picks among functions of the same plain name in brace languages; Python's view starts
 * at the function, so there the first one is it.
 */
export function editCandidatesIn(
  file: string,
  source: string,
  functionName: string,
  kinds: readonly EditKind[],
  near = 0,
): EditCandidate[] {
  const language = languageOf(file);
  if (language === 'python') return editCandidates(source, functionName, kinds);
  return braceEditCandidates(source, language, functionName, kinds, near);
}
