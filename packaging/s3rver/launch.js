// Starts s3rver through its CLI module: the published package declares a
// bin/s3rver.js that it does not ship. Arguments as s3rver's, e.g.
//   node launch.js -d DATADIR -a 127.0.0.1 -p PORT --configure-bucket BUCKET
// It prints "S3rver listening on ADDRESS:PORT" once it accepts requests
// (with -p 0, the port the system chose). Any failure, a port in use
// included (which s3rver leaves as an unhandled 'error' event), ends it
// with one line on stderr and exit status 1.
'use strict'

function fail(e) {
  console.error(`s3rver: ${e.message}`)
  process.exit(1)
}

process.on('uncaughtException', fail)
require('@20minutes/s3rver/lib/cli.js').parseAsync().catch(fail)
