/** The floor's one activity: it waits, and does nothing else. */
export const floorActivities = {
  sleepFor: (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms)),
};

export type FloorActivities = typeof floorActivities;
