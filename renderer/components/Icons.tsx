/** Small inline SVG icons (no remote content, no icon font). */
import type { ReactElement } from 'react';

const base = { width: 14, height: 14, viewBox: '0 0 24 24', fill: 'none', stroke: 'currentColor', strokeWidth: 2, strokeLinecap: 'round', strokeLinejoin: 'round' } as const;

export const CameraIcon = (): ReactElement => (
  <svg {...base} aria-hidden="true">
    <path d="M4 8h3l2-3h6l2 3h3v11H4z" />
    <circle cx="12" cy="13" r="3.5" />
  </svg>
);

export const BranchIcon = (): ReactElement => (
  <svg {...base} aria-hidden="true">
    <circle cx="6" cy="5" r="2" />
    <circle cx="6" cy="19" r="2" />
    <circle cx="18" cy="8" r="2" />
    <path d="M6 7v10M18 10c0 5-12 3-12 7" />
  </svg>
);

export const HereIcon = (): ReactElement => (
  <svg {...base} aria-hidden="true">
    <path d="M12 21s-7-6.2-7-11.5A7 7 0 0 1 19 9.5C19 14.8 12 21 12 21z" />
    <circle cx="12" cy="9.5" r="2.5" />
  </svg>
);

export const WarnIcon = (): ReactElement => (
  <svg {...base} aria-hidden="true">
    <path d="M12 3 2 21h20L12 3z" />
    <path d="M12 10v5M12 18v.5" />
  </svg>
);

export const DiskIcon = (): ReactElement => (
  <svg {...base} aria-hidden="true">
    <rect x="3" y="5" width="18" height="14" rx="2" />
    <path d="M7 15h.01M11 15h6" />
  </svg>
);

export const FolderIcon = (): ReactElement => (
  <svg {...base} aria-hidden="true">
    <path d="M3 6h6l2 2h10v11H3z" />
  </svg>
);

export const ServerIcon = (): ReactElement => (
  <svg {...base} aria-hidden="true">
    <rect x="3" y="4" width="18" height="7" rx="1.5" />
    <rect x="3" y="13" width="18" height="7" rx="1.5" />
    <path d="M7 7.5h.01M7 16.5h.01" />
  </svg>
);

export const SunMoonIcon = (): ReactElement => (
  <svg {...base} aria-hidden="true">
    <path d="M21 12.8A9 9 0 1 1 11.2 3a7 7 0 0 0 9.8 9.8z" />
  </svg>
);

export const RefreshIcon = (): ReactElement => (
  <svg {...base} aria-hidden="true">
    <path d="M20 11a8 8 0 0 0-14.9-3M4 4v4h4M4 13a8 8 0 0 0 14.9 3M20 20v-4h-4" />
  </svg>
);

export const FitIcon = (): ReactElement => (
  <svg {...base} aria-hidden="true">
    <path d="M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5" />
  </svg>
);

export const FileIcon = (): ReactElement => (
  <svg {...base} aria-hidden="true">
    <path d="M6 3h8l4 4v14H6z" />
    <path d="M14 3v4h4" />
  </svg>
);

export const LockIcon = (): ReactElement => (
  <svg {...base} aria-hidden="true">
    <rect x="5" y="11" width="14" height="10" rx="2" />
    <path d="M8 11V8a4 4 0 0 1 8 0v3" />
  </svg>
);

export const TrashIcon = (): ReactElement => (
  <svg {...base} aria-hidden="true">
    <path d="M4 7h16M9 7V4h6v3M6 7l1 14h10l1-14" />
  </svg>
);

export const CompareIcon = (): ReactElement => (
  <svg {...base} aria-hidden="true">
    <path d="M7 4v16M17 4v16M3 8h8M13 16h8" />
  </svg>
);

export const HeartIcon = (): ReactElement => (
  <svg {...base} aria-hidden="true">
    <path d="M3 12h4l2-5 4 10 2-5h6" />
  </svg>
);
