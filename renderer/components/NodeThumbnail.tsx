/** The small screen on a snapshot's node, where one was kept when it was taken (thumbnail-slice.ts); nothing otherwise. */
import type { ReactElement } from 'react';
import type { Snapshot } from '../../shared/model';
import { useAppStore } from '../store/context';
import { selectDomainName, selectSourceId } from '../store/selectors';
import { thumbnailKey } from '../store/thumbnail-slice';
import './NodeThumbnail.css';

export function NodeThumbnail({ snapshot }: { snapshot: Snapshot | undefined }): ReactElement | null {
  const sourceId = useAppStore(selectSourceId);
  const domain = useAppStore(selectDomainName);
  const image = useAppStore((s) => (snapshot === undefined || domain === null ? undefined : s.thumbnails[thumbnailKey(sourceId, domain, snapshot.name, snapshot.created)]));
  if (typeof image !== 'string') return null;
  return <img className="node-thumbnail" src={image} alt="" aria-hidden="true" data-testid="node-thumbnail" />;
}
