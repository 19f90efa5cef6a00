/** The REST calls the HMI makes (relative URLs, so the HMI also works behind a reverse proxy's sub-path). */
import type { ApiError, PlantInfo, TagWithState } from '../../src/web/protocol.js';

export class ApiCallError extends Error {}

async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store', ...(signal ? { signal } : {}) });
  if (!res.ok) throw new ApiCallError(await errorMessage(res));
  return (await res.json()) as T;
}

async function errorMessage(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as ApiError;
    return `${body.error.message} [${body.error.code}]`;
  } catch {
    return `the server answered ${res.status} ${res.statusText}`;
  }
}

export const fetchPlant = (signal?: AbortSignal): Promise<PlantInfo> => getJson<PlantInfo>('api/plant', signal);

export const fetchTags = (signal?: AbortSignal): Promise<TagWithState[]> => getJson<TagWithState[]>('api/tags', signal);

export async function fetchDrawing(page: string, signal?: AbortSignal): Promise<string> {
  const res = await fetch(`api/drawings/${encodeURIComponent(page)}`, { cache: 'no-store', ...(signal ? { signal } : {}) });
  if (!res.ok) throw new ApiCallError(await errorMessage(res));
  return res.text();
}
