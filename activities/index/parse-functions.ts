import type { SourceLanguage } from '../../core/languages';
import { NAMING, functionName } from './function-names';
import { parserFor } from './grammars';

export { SOURCE_LANGUAGES, type SourceLanguage } from '../../core/languages';

/**
 * Named functions and methods in one source file, with their 1-based first lines, in source order.
 * `file` picks the grammar where a language has two (TypeScript's .tsx).
 */
export async function parseFunctions(
  language: SourceLanguage,
  source: string,
  file?: string,
): Promise<Array<{ name: string; line: number }>> {
  const parser = await parserFor(language, file);
  const tree = parser.parse(source);
  if (!tree) return [];
  try {
    const found: Array<{ name: string; line: number }> = [];
    for (const node of tree.rootNode.descendantsOfType([...NAMING[language].definitions])) {
      const name = node && functionName(language, node);
      if (node && name) found.push({ name, line: node.startPosition.row + 1 });
    }
    return found;
  } finally {
    tree.delete();
  }
}
