// verdaccio in its own process (see registry.cjs): listens on 127.0.0.1, a free port, and
// prints `LISTENING <port>`.
"use strict";
const { runServer } = require("verdaccio");

runServer(process.argv[2]).then(
  (server) =>
    server.listen(0, "127.0.0.1", () => {
      console.log(`LISTENING ${server.address().port}`);
    }),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
process.on("SIGTERM", () => process.exit(0));
