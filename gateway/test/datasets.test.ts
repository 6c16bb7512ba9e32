import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { isDatasetName } from '../src/batch/dataset-name.ts'
import { DatasetCatalog } from '../src/batch/datasets.ts'

describe('dataset names', () => {
  test('a name is one path segment: never empty, ., .., hidden, a separator, NUL or option-like', () => {
    fc.assert(
      // Names built mostly from the characters that matter here, so both sides of the rule are exercised.
      fc.property(
        fc.string({ unit: fc.constantFrom('a', 'Z', '0', '.', '-', '_', '/', '\\', '\0', ':', 'é'), maxLength: 80 }),
        (name) => {
          if (!isDatasetName(name)) return
          assert.ok(name.length >= 1 && name.length <= 64)
          assert.ok(!/[/\\\0:]/.test(name), name)
          assert.ok(!name.startsWith('.') && !name.startsWith('-'), name)
        },
      ),
    )
    for (const bad of ['', '.', '..', '../x', 'a/b', 'a\\b', '.hidden', '-rf', 'a\0b', 'x'.repeat(65), 'é']) {
      assert.equal(isDatasetName(bad), false, JSON.stringify(bad))
    }
    for (const good of ['imagenet-sample', 'a', 'v1.2_test', 'A-9']) assert.equal(isDatasetName(good), true, good)
  })

  test('the catalogue finds only folders listed under its root: traversal, files and unknown names are not found', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'switchyard-datasets-'))
    const root = join(parent, 'datasets')
    mkdirSync(join(root, 'small'), { recursive: true })
    mkdirSync(join(parent, 'secret'))
    writeFileSync(join(parent, 'secret', 'n00000001_cat.jpg'), 'x')
    for (const name of ['n01_b.JPEG', 'n00_a.png', 'notes.txt']) writeFileSync(join(root, 'small', name), 'x')
    mkdirSync(join(root, 'small', 'sub.jpg'))
    writeFileSync(join(root, 'file.jpg'), 'x')
    symlinkSync(join(root, 'small'), join(root, 'linked'))
    const catalog = new DatasetCatalog(root)

    assert.deepEqual(await catalog.find('small'), {
      name: 'small',
      dir: join(root, 'small'),
      images: ['n00_a.png', 'n01_b.JPEG'],
    })
    assert.equal((await catalog.find('linked'))?.images.length, 2)
    for (const name of ['../secret', 'secret', '..', '.', 'file.jpg', 'missing', `small/../../secret`]) {
      assert.equal(await catalog.find(name), undefined, name)
    }
    assert.deepEqual(await catalog.list(), [
      { name: 'linked', images: 2 },
      { name: 'small', images: 2 },
    ])
    assert.deepEqual(await new DatasetCatalog(join(parent, 'nowhere')).list(), [])
  })
})
