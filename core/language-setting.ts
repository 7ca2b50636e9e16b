import { z } from 'zod';
import { SOURCE_LANGUAGES, type SourceLanguage } from './languages';

export type { SourceLanguage };

/** A config's `language`: one of the index's languages, or a list of them. */
export const LanguageSettingSchema = z.union([
  z.enum(SOURCE_LANGUAGES),
  z.array(z.enum(SOURCE_LANGUAGES)).min(1),
]);
export type LanguageSetting = z.output<typeof LanguageSettingSchema>;

/** The setting as a list; empty when it is absent. */
export function languageList(setting: LanguageSetting | undefined): SourceLanguage[] {
  if (!setting) return [];
  return Array.isArray(setting) ? setting : [setting];
}
