import { EDIT_KINDS, type EditKind } from './python-edits';
import type { TeacherLanguage } from './languages';

/**
 * Which edits fit which bug type. Categories not listed get every kind. The first kind that has
 * a candidate in the function wins, in an order the seed shuffles.
 */
const BY_CATEGORY: Array<[RegExp, EditKind[]]> = [
  [
    /boundary|algorithmic|output correctness|control flow|data transformation/,
    ['off_by_one', 'boolean', 'return_value'],
  ],
  [/null safety|robustness|precondition/, ['none_guard', 'validation', 'exception']],
  [/error handling|api contract|backwards compat/, ['exception', 'validation', 'none_guard']],
  [/validation|invariant|security/, ['validation', 'none_guard', 'off_by_one']],
  [/naming|readability|maintainab|documentation|convention|complexity/, ['rename_local', 'docstring']],
  [
    /state|initiali[sz]ation|configuration|determinism|side effect|idempoten/,
    ['boolean', 'return_value', 'none_guard'],
  ],
];

export function editKindsFor(category: string): EditKind[] {
  const lower = category.toLowerCase();
  const found = BY_CATEGORY.find(([pattern]) => pattern.test(lower));
  const preferred = found ? found[1] : [...EDIT_KINDS];
  // Anything else comes after, so a function that admits none of the preferred kinds still gets an edit.
  return [...preferred, ...EDIT_KINDS.filter((k) => !preferred.includes(k))];
}

/** How a user would notice each kind of change: the symptom a PR description states. */
export const SYMPTOMS: Record<EditKind, string> = {
  off_by_one: 'gives a wrong result right at the edge of its range: one element or step too many or too few',
  none_guard:
    'does the wrong thing when a value is None: the check for a missing value is the wrong way round',
  exception: 'reports failures with a different exception than callers expect',
  validation: 'accepts input it should reject: an invalid argument no longer raises',
  boolean: 'takes the wrong branch: a condition combines or defaults its flags the other way',
  return_value: 'returns the opposite of what callers rely on',
  rename_local:
    'is hard to follow because of an unclear local variable name; it should be renamed to say it holds a value',
  docstring: 'has documentation that does not say that results are not cached',
};

const MISSING: Record<Exclude<TeacherLanguage, 'python'>, string> = {
  javascript: 'null or undefined',
  typescript: 'null or undefined',
  go: 'nil',
  rust: 'None',
  java: 'null',
};

/** The symptom in the words of the file's language; Python's are SYMPTOMS themselves. */
export function symptomOf(kind: EditKind, language: TeacherLanguage): string {
  if (language === 'python') return SYMPTOMS[kind];
  switch (kind) {
    case 'none_guard':
      return `does the wrong thing when a value is ${MISSING[language]}: the check for a missing value is the wrong way round`;
    case 'exception':
      return 'reports failures with a different error than callers expect';
    case 'validation':
      return 'accepts input it should reject: an invalid argument is no longer refused';
    default:
      return SYMPTOMS[kind];
  }
}
