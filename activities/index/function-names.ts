import type { Node } from 'web-tree-sitter';
import type { SourceLanguage } from '../../core/languages';

/**
 * How each language names its functions in a syntax tree. A method is `Owner.name` (its class,
 * impl type or Go receiver type); anything else, a function nested in a function included, is its
 * bare name, the way a person would look it up in the file.
 */
interface NamingRules {
  /** Node types that may be named functions. */
  definitions: readonly string[];
  /** The name a definition node is known by, or undefined when it is not a named function. */
  name(node: Node): string | undefined;
  /** The type a method belongs to, or undefined for a plain function. */
  owner(node: Node): string | undefined;
}

const IDENTIFIER = /^[\p{L}_$][\p{L}\p{N}_$]*$/u;

const field = (node: Node | null | undefined, name: string): Node | null | undefined =>
  node?.childForFieldName(name);

/** The name a definition has when it has a body (declarations without one cannot be changed). */
const withBody = (node: Node): string | undefined =>
  field(node, 'body') ? field(node, 'name')?.text : undefined;

/**
 * The owner a member belongs to: up through the wrapper nodes between a member and its
 * container (class bodies, decorators), to a container node, whose name `ownerName` gives.
 */
function enclosingOwner(
  node: Node,
  wrappers: readonly string[],
  ownerName: (container: Node) => string | undefined,
): string | undefined {
  let up = node.parent;
  while (up && wrappers.includes(up.type)) up = up.parent;
  return up ? ownerName(up) : undefined;
}

// JavaScript and TypeScript: declarations, methods, and function values bound to a name.
const FUNCTION_VALUES = ['arrow_function', 'function_expression', 'generator_function'];
const JS_CLASSES = ['class_declaration', 'abstract_class_declaration', 'class'];

const isFunctionValue = (node: Node | null | undefined): boolean =>
  node !== null && node !== undefined && FUNCTION_VALUES.includes(node.type);

/** `x`, `module.exports.x`, `obj.x`: the name an assignment binds, as its last part. */
function assignedName(left: Node | null | undefined): string | undefined {
  if (left?.type === 'identifier') return left.text;
  if (left?.type === 'member_expression') return field(left, 'property')?.text;
  return undefined;
}

/** `f` and `'f'` as object keys are both `f`. */
const keyName = (key: Node | null | undefined): string | undefined =>
  key?.type === 'string' ? key.namedChildren.map((part) => part?.text ?? '').join('') : key?.text;

function jsClassName(node: Node): string | undefined {
  if (!JS_CLASSES.includes(node.type)) return undefined;
  const name = field(node, 'name')?.text;
  // `const Foo = class { … }`: the class is known by the name it is bound to.
  if (!name && node.parent?.type === 'variable_declarator') return field(node.parent, 'name')?.text;
  return name;
}

const javascriptLike: NamingRules = {
  definitions: [
    'function_declaration',
    'generator_function_declaration',
    'method_definition',
    'variable_declarator',
    'assignment_expression',
    'pair',
    'field_definition',
    'public_field_definition',
  ],
  name(node) {
    switch (node.type) {
      case 'function_declaration':
      case 'generator_function_declaration':
      case 'method_definition':
        return withBody(node);
      case 'variable_declarator':
        return isFunctionValue(field(node, 'value')) ? field(node, 'name')?.text : undefined;
      case 'assignment_expression':
        return isFunctionValue(field(node, 'right')) ? assignedName(field(node, 'left')) : undefined;
      case 'pair':
        return isFunctionValue(field(node, 'value')) ? keyName(field(node, 'key')) : undefined;
      case 'field_definition':
        return isFunctionValue(field(node, 'value')) ? field(node, 'property')?.text : undefined;
      case 'public_field_definition':
        return isFunctionValue(field(node, 'value')) ? field(node, 'name')?.text : undefined;
      default:
        return undefined;
    }
  },
  owner(node) {
    // Object-literal methods are named by their key alone; class members by their class.
    if (!['method_definition', 'field_definition', 'public_field_definition'].includes(node.type))
      return undefined;
    return enclosingOwner(node, ['class_body'], jsClassName);
  },
};

/** `*T`, `T[K]`, `pkg.T` in a Go receiver: the base type's name. */
function goReceiverType(method: Node): string | undefined {
  let type = field(field(method, 'receiver')?.firstNamedChild, 'type');
  while (type && type.type !== 'type_identifier') {
    type =
      type.type === 'qualified_type' ? field(type, 'name') : (field(type, 'type') ?? type.firstNamedChild);
  }
  return type?.text;
}

/** The attributes written above an item (`#[test]`, `#[cfg(test)]`), comments skipped. */
function rustAttributes(item: Node): string[] {
  const found: string[] = [];
  for (let before = item.previousNamedSibling; before; before = before.previousNamedSibling) {
    if (before.type === 'attribute_item') found.push(before.text);
    else if (!before.type.endsWith('comment')) break;
  }
  return found;
}

/**
 * Rust keeps unit tests beside the code: a `#[test]` function (`#[tokio::test]` too), or anything
 * in a `#[cfg(test)]` module, is test code, not the crate's, whatever its file.
 */
function isRustTest(node: Node): boolean {
  if (rustAttributes(node).some((a) => /^#\[(\w+::)*test\b/.test(a))) return true;
  for (let up = node.parent; up; up = up.parent)
    if (up.type === 'mod_item' && rustAttributes(up).some((a) => /cfg\(\s*test\s*\)/.test(a))) return true;
  return false;
}

/** `Foo`, `Foo<T>`, `&Foo`, `fmt::Foo` in `impl … for Foo`: the base type's name. */
function rustTypeName(type: Node | null | undefined): string | undefined {
  while (type && type.type !== 'type_identifier') {
    type = type.type === 'scoped_type_identifier' ? field(type, 'name') : field(type, 'type');
  }
  return type?.text;
}

const JAVA_TYPES = ['class_declaration', 'interface_declaration', 'enum_declaration', 'record_declaration'];

export const NAMING: Record<SourceLanguage, NamingRules> = {
  python: {
    definitions: ['function_definition'],
    name: (node) => field(node, 'name')?.text,
    owner: (node) =>
      enclosingOwner(node, ['block', 'decorated_definition'], (up) =>
        up.type === 'class_definition' ? field(up, 'name')?.text : undefined,
      ),
  },
  javascript: javascriptLike,
  typescript: javascriptLike,
  go: {
    definitions: ['function_declaration', 'method_declaration'],
    name: withBody,
    owner: (node) => (node.type === 'method_declaration' ? goReceiverType(node) : undefined),
  },
  rust: {
    definitions: ['function_item'],
    name: (node) => (isRustTest(node) ? undefined : withBody(node)),
    owner: (node) =>
      enclosingOwner(node, ['declaration_list'], (up) => {
        if (up.type === 'impl_item') return rustTypeName(field(up, 'type'));
        if (up.type === 'trait_item') return field(up, 'name')?.text;
        return undefined;
      }),
  },
  java: {
    definitions: ['method_declaration', 'constructor_declaration', 'compact_constructor_declaration'],
    name: withBody,
    owner: (node) =>
      enclosingOwner(node, ['class_body', 'interface_body', 'enum_body', 'enum_body_declarations'], (up) =>
        JAVA_TYPES.includes(up.type) ? field(up, 'name')?.text : undefined,
      ),
  },
};

/** `Owner.name` or `name`, or undefined when the node is no named function. */
export function functionName(language: SourceLanguage, node: Node): string | undefined {
  const rules = NAMING[language];
  const name = rules.name(node);
  if (!name || !IDENTIFIER.test(name)) return undefined;
  const owner = rules.owner(node);
  return owner && IDENTIFIER.test(owner) ? `${owner}.${name}` : name;
}
