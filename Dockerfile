# PandaFuzz node image: one image for every role (PANDAFUZZ_ROLES picks master, bot or both).
# .NET 10 images are Ubuntu 24.04 "noble" (Microsoft ships no Debian images for .NET 10), so the engine packages are
# noble's: AFL++ 4.09c, LLVM/clang 18. Targets are uploaded prebuilt; the final stage has no compiler.
ARG DOTNET_VERSION=10.0
ARG LLVM_VERSION=18

# Build: publish the node and the operator CLI.
FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION}-noble AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props PandaFuzz.sln ./
COPY hocon/ hocon/
COPY src/ src/
RUN dotnet publish src/PandaFuzz.Node/PandaFuzz.Node.csproj -c Release -o /app --nologo \
    && dotnet publish src/PandaFuzz.Cmd/PandaFuzz.Cmd.csproj -c Release -o /app/cmd --nologo

# Engines: the afl++ package depends on clang and build-essential; only the tools a bot runs leave this stage, with the
# list of packages that own the libraries they load.
FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION}-noble AS engines
COPY ops/container/afl-runtime.sh /usr/local/bin/
RUN apt-get update \
    && apt-get install -y --no-install-recommends afl++ \
    && rm -rf /var/lib/apt/lists/* \
    && afl-runtime.sh /out/afl

# Example: the bundled demo target (ops/examples/planted-bug), a libFuzzer + ASan build, so a cluster can be tried
# without a toolchain on the host (see the README). Only the binary leaves this stage.
FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION}-noble AS example
ARG LLVM_VERSION
RUN apt-get update \
    && apt-get install -y --no-install-recommends "clang-${LLVM_VERSION}" "libclang-rt-${LLVM_VERSION}-dev" \
    && rm -rf /var/lib/apt/lists/*
COPY ops/examples/planted-bug/target.c /src/target.c
RUN mkdir /out && "clang-${LLVM_VERSION}" -g -O1 -fsanitize=fuzzer,address /src/target.c -o /out/packet-parser

# Runtime: ASP.NET Core runtime, the engines' run-time parts, no compiler.
FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION}-noble AS runtime
ARG LLVM_VERSION
COPY --from=engines /out/afl/runtime-packages /tmp/afl-runtime-packages
# llvm-symbolizer (llvm-N) turns sanitizer stacks into function names, llvm-profdata and llvm-cov measure source coverage
# with a build's coverage binary (found on PATH by those names); libclang-rt-N-dev carries the sanitizer and
# libFuzzer runtimes (shared ones for targets linked with -shared-libasan, put on the loader path below); util-linux gives
# setsid for the fuzzers' process groups; bubblewrap sandboxes the target processes; curl serves the HEALTHCHECK.
# xargs appends the AFL++ tools' libraries (libpython among them) to the list.
RUN apt-get update \
    && xargs -a /tmp/afl-runtime-packages apt-get install -y --no-install-recommends \
        "llvm-${LLVM_VERSION}" "libclang-rt-${LLVM_VERSION}-dev" util-linux bubblewrap curl ca-certificates \
    && rm -rf /var/lib/apt/lists/* /tmp/afl-runtime-packages \
    && ln -s "/usr/bin/llvm-symbolizer-${LLVM_VERSION}" /usr/local/bin/llvm-symbolizer \
    && ln -s "/usr/bin/llvm-profdata-${LLVM_VERSION}" /usr/local/bin/llvm-profdata \
    && ln -s "/usr/bin/llvm-cov-${LLVM_VERSION}" /usr/local/bin/llvm-cov \
    && find "/usr/lib/llvm-${LLVM_VERSION}/lib/clang" -name 'libclang_rt.asan-x86_64.so' -printf '%h\n' > /etc/ld.so.conf.d/clang-rt.conf \
    && ldconfig \
    && useradd --system --uid 10001 --create-home pandafuzz \
    && mkdir /data \
    && chown pandafuzz /data
COPY --from=engines /out/afl/bin/ /usr/local/bin/
COPY --from=example /out/packet-parser /opt/pandafuzz/examples/packet-parser
COPY ops/container/healthcheck.sh /usr/local/bin/pandafuzz-healthcheck
COPY ops/container/pandafuzz-cmd.sh /usr/local/bin/pandafuzz-cmd
WORKDIR /app
COPY --from=build /app ./
USER pandafuzz
# PANDAFUZZ_METRICS: a bot-only node serves /metrics, /healthz and /readyz there (a master serves them on its API port and
# ignores it), so the HEALTHCHECK works for every role.
ENV PANDAFUZZ_DATA_DIR=/data \
    PANDAFUZZ_HTTP=0.0.0.0:8080 \
    PANDAFUZZ_REMOTE=127.0.0.1:4053 \
    PANDAFUZZ_METRICS=0.0.0.0:9464 \
    DOTNET_HOSTBUILDER__RELOADCONFIGONCHANGE=false
# pandafuzz-cmd inside the container talks to the node's command host on loopback:
#   docker exec -it <container> pandafuzz-cmd cluster show
VOLUME /data
# 8080: a master's HTTP API (with /metrics, /healthz, /readyz); 4053: Akka.Remote; 9464: a bot-only node's /metrics,
# /healthz, /readyz.
EXPOSE 8080 4053 9464
# Liveness (/healthz: the actor system answers); a cold start with a journal to replay takes a while.
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 CMD ["/usr/local/bin/pandafuzz-healthcheck"]
ENTRYPOINT ["dotnet", "pandafuzz.dll"]
