#!/bin/sh
# pandafuzz-cmd on the image's PATH: the operator CLI published beside the node (/app/cmd).
exec dotnet /app/cmd/pandafuzz-cmd.dll "$@"
