// postinstall: makes kafkajs 2.2.4's grouping of a send's messages by partition linear.
//
// kafkajs' src/producer/groupMessagesPerPartition.js copies a partition's array once per message
// (`[...current, message]` in a reduce), quadratic in the batch: at 5000 records per send it was
// 5.6 % of the forwarder's CPU in a profile, and the drain of a 200,000-reading backlog ran
// 10-35 % faster without it (edge/forward/README.md "The quadratic grouping"). The fix is upstream's
// open pull request tulios/kafkajs#1576; kafkajs 2.2.4 is the latest release.
//
// Written here rather than with patch-package: that tool brings 44 packages into every install,
// the substation gateway's production image included, for one ten-line file. This script changes
// only a file whose text is exactly the released one (or leaves an already patched one alone), and
// says so on stderr when the file is anything else (another kafkajs: nothing is changed, it still
// works, only slower). test/shared/kafka/kafkajs-patch.test.ts checks the installed file.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const RELEASED = `module.exports = ({ topic, partitionMetadata, messages, partitioner }) => {
  if (partitionMetadata.length === 0) {
    return {}
  }

  return messages.reduce((result, message) => {
    const partition = partitioner({ topic, partitionMetadata, message })
    const current = result[partition] || []
    return Object.assign(result, { [partition]: [...current, message] })
  }, {})
}
`;

export const MARK = '// gridwatch: linear grouping (tulios/kafkajs#1576)';

export const PATCHED = `${MARK}
module.exports = ({ topic, partitionMetadata, messages, partitioner }) => {
  if (partitionMetadata.length === 0) {
    return {}
  }

  const result = {}
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message })
    const current = result[partition]
    if (current === undefined) result[partition] = [message]
    else current.push(message)
  }
  return result
}
`;

export function target() {
  const require = createRequire(join(process.cwd(), 'package.json'));
  let pkg;
  try {
    pkg = require.resolve('kafkajs/package.json');
  } catch {
    return null;
  }
  return { file: join(dirname(pkg), 'src/producer/groupMessagesPerPartition.js'), version: JSON.parse(readFileSync(pkg, 'utf8')).version };
}

function main() {
  const t = target();
  if (t === null || !existsSync(t.file)) {
    process.stderr.write('patch-kafkajs: kafkajs is not installed here; nothing to do\n');
    return;
  }
  const text = readFileSync(t.file, 'utf8');
  if (text === PATCHED) return; // already done (npm ci twice, or a copied node_modules)
  if (text === RELEASED) {
    writeFileSync(t.file, PATCHED);
    process.stderr.write(`patch-kafkajs: kafkajs ${t.version}: grouping messages by partition made linear (tulios/kafkajs#1576)\n`);
  } else {
    process.stderr.write(`patch-kafkajs: kafkajs ${t.version}: ${t.file} is not the text this script knows; left as it is (sends work, large batches cost more CPU)\n`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
