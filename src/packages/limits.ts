// Package limits of docs/configuration.md, with their defaults.

/** What a package may hold. */
export interface PackageLimits {
  /** Largest zip accepted (download and unpack). */
  zipBytes: number;
  /** Largest total of unpacked bytes. */
  unpackedBytes: number;
  /** Most entries (files and folders). */
  entries: number;
  /** Largest per-entry ratio of unpacked to compressed bytes (zip bomb). */
  ratio: number;
}

export const DEFAULT_PACKAGE_LIMITS: PackageLimits = {
  zipBytes: 100 * 1024 * 1024,
  unpackedBytes: 500 * 1024 * 1024,
  entries: 10_000,
  ratio: 1000,
};
