import { createRequire } from 'node:module';
import { Language, Parser } from 'web-tree-sitter';
import type { SourceLanguage } from '../../core/languages';

/** The bundled .wasm of each grammar package; TypeScript has a second grammar for .tsx (JSX). */
const GRAMMARS = {
  python: 'tree-sitter-python/tree-sitter-python.wasm',
  javascript: 'tree-sitter-javascript/tree-sitter-javascript.wasm',
  typescript: 'tree-sitter-typescript/tree-sitter-typescript.wasm',
  tsx: 'tree-sitter-typescript/tree-sitter-tsx.wasm',
  go: 'tree-sitter-go/tree-sitter-go.wasm',
  rust: 'tree-sitter-rust/tree-sitter-rust.wasm',
  java: 'tree-sitter-java/tree-sitter-java.wasm',
} as const satisfies Record<SourceLanguage | 'tsx', string>;
type Grammar = keyof typeof GRAMMARS;

const require = createRequire(import.meta.url);
const parsers = new Map<Grammar, Promise<Parser>>();

async function load(grammar: Grammar): Promise<Parser> {
  await Parser.init();
  const parser = new Parser();
  parser.setLanguage(await Language.load(require.resolve(GRAMMARS[grammar])));
  return parser;
}

/** One parser per grammar for the life of the process (loading a grammar takes milliseconds). */
export function parserFor(language: SourceLanguage, file?: string): Promise<Parser> {
  const grammar: Grammar = language === 'typescript' && file?.endsWith('.tsx') ? 'tsx' : language;
  let parser = parsers.get(grammar);
  if (!parser) {
    parser = load(grammar);
    parsers.set(grammar, parser);
    // A grammar that failed to load is tried again by the next call (the activity's retry).
    parser.catch(() => parsers.delete(grammar));
  }
  return parser;
}
