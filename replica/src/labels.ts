import { readFileSync } from 'node:fs'

export interface ImagenetClass {
  synset: string
  label: string
}

/** The 1000 ImageNet classes in class-index order (index i = i-th synset in sorted order). */
export function loadImagenetClasses(): ImagenetClass[] {
  const url = new URL('../data/imagenet-classes.json', import.meta.url)
  return JSON.parse(readFileSync(url, 'utf8')) as ImagenetClass[]
}
