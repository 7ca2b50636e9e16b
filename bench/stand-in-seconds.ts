/**
 * The long-generation benchmark's word to its stand-in samples on how long the slowest takes
 * (`--long-slow-seconds`): passed as a teacher header, which a stand-in never sends anywhere.
 */
export const STAND_IN_SECONDS = 'x-stand-in-seconds';
