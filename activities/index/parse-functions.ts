import { createRequire } from 'node:module';
import { Language, Parser, type Node } from 'web-tree-sitter';

/** Languages the index reads, with their grammars' bundled .wasm files and their source files. */
export const LANGUAGES = {
  python: { grammar: 'tree-sitter-python/tree-sitter-python.wasm', extensions: ['.py'] },
  javascript: {
    grammar: 'tree-sitter-javascript/tree-sitter-javascript.wasm',
    extensions: ['.js', '.mjs', '.cjs', '.jsx'],
  },
} as const;
export type SourceLanguage = keyof typeof LANGUAGES;

const FUNCTION_NODES: Record<SourceLanguage, string[]> = {
  python: ['function_definition'],
  javascript: ['function_declaration', 'method_definition', 'generator_function_declaration'],
};

const require = createRequire(import.meta.url);
const parsers = new Map<SourceLanguage, Parser>();

async function parserFor(language: SourceLanguage): Promise<Parser> {
  const cached = parsers.get(language);
  if (cached) return cached;
  await Parser.init();
  const parser = new Parser();
  parser.setLanguage(await Language.load(require.resolve(LANGUAGES[language].grammar)));
  parsers.set(language, parser);
  return parser;
}

/** Named functions and methods in one source file, with their 1-based first lines. */
export async function parseFunctions(
  language: SourceLanguage,
  source: string,
): Promise<Array<{ name: string; line: number }>> {
  const parser = await parserFor(language);
  const tree = parser.parse(source);
  if (!tree) return [];
  try {
    return tree.rootNode
      .descendantsOfType(FUNCTION_NODES[language])
      .filter((node): node is Node => node !== null)
      .map((node) => ({ name: node.childForFieldName('name')?.text ?? '', line: node.startPosition.row + 1 }))
      .filter((f) => /^[A-Za-z_$][\w$]*$/.test(f.name));
  } finally {
    tree.delete();
  }
}
