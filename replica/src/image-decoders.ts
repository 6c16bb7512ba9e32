import sharp from 'sharp'
import type { ImageFormat } from './image-format.ts'

/** libvips' loader of each accepted format for an image held in memory (the only way a replica gives them). */
export const BUFFER_LOADERS: Readonly<Record<ImageFormat, string>> = {
  JPEG: 'VipsForeignLoadJpegBuffer',
  PNG: 'VipsForeignLoadPngBuffer',
  WebP: 'VipsForeignLoadWebpBuffer',
  GIF: 'VipsForeignLoadNsgifBuffer',
  TIFF: 'VipsForeignLoadTiffBuffer',
  AVIF: 'VipsForeignLoadHeifBuffer',
}

/**
 * Leaves libvips only the loaders of the accepted formats, for the whole process: behind the magic-byte check, so a
 * body that passes it but is something else inside (or a future loader claiming it first) still meets no SVG, PDF,
 * UltraHDR or other decoder. sharp has no per-image format option; this is its way.
 */
export function allowOnlyAcceptedDecoders(): void {
  sharp.block({ operation: ['VipsForeignLoad'] })
  sharp.unblock({ operation: Object.values(BUFFER_LOADERS) })
}
