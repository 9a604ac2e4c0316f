// Reads every metadata/*.parquet of a clip-retrieval layout folder with
// hyparquet (an independent Parquet implementation), in sorted order as
// embedding-reader lists them, and prints {file, columns, rows} as JSON.
// Usage: node read_parquet.mjs HYPARQUET_DIR LAYOUT_DIR
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const [hpDir, layout] = process.argv.slice(2)
const hp = await import(pathToFileURL(join(hpDir, 'node_modules', 'hyparquet', 'src', 'node.js')).href)
const dir = join(layout, 'metadata')
const files = readdirSync(dir).filter(f => f.endsWith('.parquet')).sort()
const out = []
for (const f of files) {
  const file = await hp.asyncBufferFromFile(join(dir, f))
  const meta = await hp.parquetMetadataAsync(file)
  const columns = meta.schema.slice(1).map(s => s.name)
  const rows = await hp.parquetReadObjects({ file })
  out.push({ file: f, columns, rows })
}
process.stdout.write(JSON.stringify(out, (k, v) => typeof v === 'bigint' ? Number(v) : v))
