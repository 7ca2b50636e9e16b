import { describe, expect, it } from 'vitest';
import { parseFunctions } from '../../activities/index/parse-functions';

const names = async (...args: Parameters<typeof parseFunctions>): Promise<string[]> =>
  (await parseFunctions(...args)).map((f) => f.name);

describe('parse functions', () => {
  it('Python: functions, methods by their class, nested functions by their own name', async () => {
    const source = [
      'import functools',
      '',
      'class Flask(App):',
      '    @property',
      '    def name(self):',
      '        def inner():',
      '            pass',
      '        return inner',
      '',
      '    class Config:',
      '        def load(self): ...',
      '',
      'async def top(x):',
      '    return x',
      '',
      'square = lambda x: x * x',
    ].join('\n');
    expect(await parseFunctions('python', source)).toEqual([
      { name: 'Flask.name', line: 5 },
      { name: 'inner', line: 6 },
      { name: 'Config.load', line: 11 },
      { name: 'top', line: 13 },
    ]);
  });

  it('JavaScript: declarations, methods, class fields and functions bound to names', async () => {
    const source = [
      'function a() {}',
      'class B { m() { const local = () => 1; return local; } f = () => 2; static s = function () {}; #p() {} }',
      'const c = () => 2;',
      'let d = function () {}, e = 3;',
      'export const g = async (x) => x;',
      'module.exports.h = function () {};',
      "const o = { j() {}, k: () => 1, 'l': function () {} };",
      'const K = class { n() {} };',
      'export default function () {}',
      'items.map((x) => x);',
      'function* gen() {}',
    ].join('\n');
    expect(await names('javascript', source)).toEqual([
      'a',
      'B.m',
      'local',
      'B.f',
      'B.s',
      'c',
      'd',
      'g',
      'h',
      'j',
      'k',
      'l',
      'K.n',
      'gen',
    ]);
    expect((await parseFunctions('javascript', source)).find((f) => f.name === 'g')?.line).toBe(5);
  });

  it('TypeScript: exported arrows, class members, no signatures; TSX by the file name', async () => {
    const source = [
      'export const withQuery = (input: string, query: QueryObject): string => {',
      '  return input;',
      '};',
      'export function over(a: string): void;',
      'export function over(a: string | number): void {}',
      'export abstract class Base<T> implements Named {',
      '  private load = async (id: number): Promise<T> => this.get(id);',
      '  abstract name(): string;',
      '  constructor(private readonly x: number) {}',
      '  get size(): number { return 1; }',
      '}',
      'interface Named { name(): string }',
      'namespace NS { export function inside() {} }',
    ].join('\n');
    expect(await parseFunctions('typescript', source, 'src/url.ts')).toEqual([
      { name: 'withQuery', line: 1 },
      { name: 'over', line: 5 },
      { name: 'Base.load', line: 7 },
      { name: 'Base.constructor', line: 9 },
      { name: 'Base.size', line: 10 },
      { name: 'inside', line: 13 },
    ]);
    const tsx = 'export const Card = (props: Props) => <div>{props.title}</div>;\n';
    expect(await names('typescript', tsx, 'src/Card.tsx')).toEqual(['Card']);
  });

  it('Go: functions, and methods by their receiver’s base type', async () => {
    const source = [
      'package uuid',
      '',
      'func (uuid UUID) String() string { return "" }',
      'func (l *List[T]) Push(v T) {}',
      'func New() UUID {',
      '  f := func() {}',
      '  f()',
      '  return UUID{}',
      '}',
      'func implementedInAssembly()',
    ].join('\n');
    expect(await parseFunctions('go', source)).toEqual([
      { name: 'UUID.String', line: 3 },
      { name: 'List.Push', line: 4 },
      { name: 'New', line: 5 },
    ]);
  });

  it('Rust: functions, methods by the impl’s type, trait defaults by the trait', async () => {
    const source = [
      'impl<T: Display> fmt::Display for Wrapper<T> {',
      '    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result { Ok(()) }',
      '}',
      'impl Parser {',
      '    pub fn new() -> Self { fn helper() {} Self {} }',
      '}',
      'impl Trait for &Shared { fn call(&self) {} }',
      'trait Visit { fn visit(&self) {} fn required(&self); }',
      'mod inner { pub fn top() {} }',
      '#[cfg(test)]',
      'mod tests {',
      '    use super::*;',
      '    #[test]',
      '    fn parses() {}',
      '    fn helper_for_tests() {}',
      '}',
      '#[tokio::test]',
      '// a comment between',
      'async fn integration() {}',
    ].join('\n');
    expect(await parseFunctions('rust', source)).toEqual([
      { name: 'Wrapper.fmt', line: 2 },
      { name: 'Parser.new', line: 5 },
      { name: 'helper', line: 5 },
      { name: 'Shared.call', line: 7 },
      { name: 'Visit.visit', line: 8 },
      { name: 'top', line: 9 },
    ]);
  });

  it('Java: methods and constructors by their type, no abstract methods', async () => {
    const source = [
      'public class Url {',
      '  public Url() {}',
      '  @Override',
      '  public String toString() { return ""; }',
      '  abstract void later();',
      '  static class Builder { Url build() { return new Url(); } }',
      '}',
      'interface Named { default String name() { return ""; } String id(); }',
      'enum Kind { A; boolean isA() { return this == A; } }',
      'record Point(int x) { Point { } int twice() { return 2 * x; } }',
    ].join('\n');
    expect(await parseFunctions('java', source)).toEqual([
      { name: 'Url.Url', line: 2 },
      { name: 'Url.toString', line: 3 },
      { name: 'Builder.build', line: 6 },
      { name: 'Named.name', line: 8 },
      { name: 'Kind.isA', line: 9 },
      { name: 'Point.Point', line: 10 },
      { name: 'Point.twice', line: 10 },
    ]);
  });
});
