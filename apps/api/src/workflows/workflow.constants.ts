// The closed sets behind the workflow and artwork metrics' labels; anything else is counted as "other".
export const WORKFLOW_TYPES = [
  'artwork_generation',
  'data_ingestion',
  'map_rendering',
  'insight_analysis',
] as const;
export type WorkflowType = (typeof WORKFLOW_TYPES)[number];

export const ARTWORK_STYLES = [
  'abstract',
  'celestial',
  'cartographic',
  'impressionist',
  'photographic',
] as const;
export type ArtworkStyle = (typeof ARTWORK_STYLES)[number];
