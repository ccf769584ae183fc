# PandaFuzz node image: one image for every role (PANDAFUZZ_ROLES picks master, bot or both).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props PandaFuzz.sln ./
COPY hocon/ hocon/
COPY src/ src/
RUN dotnet publish src/PandaFuzz.Node/PandaFuzz.Node.csproj -c Release -o /app --nologo \
    && dotnet publish src/PandaFuzz.Cmd/PandaFuzz.Cmd.csproj -c Release -o /app/cmd --nologo

FROM mcr.microsoft.com/dotnet/aspnet:10.0
# llvm-symbolizer turns sanitizer stacks into function names; util-linux gives setsid for process groups and prlimit for
# the sandbox's rlimits; bubblewrap its network and filesystem isolation where the container allows user namespaces
# (the bot reports what holds: see ops/sandbox.md).
RUN apt-get update \
    && apt-get install -y --no-install-recommends llvm util-linux bubblewrap \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --create-home pandafuzz \
    && mkdir /data && chown pandafuzz /data
WORKDIR /app
COPY --from=build /app ./
USER pandafuzz
ENV PANDAFUZZ_DATA_DIR=/data \
    PANDAFUZZ_HTTP=0.0.0.0:8080 \
    PANDAFUZZ_REMOTE=127.0.0.1:4053 \
    DOTNET_HOSTBUILDER__RELOADCONFIGONCHANGE=false
# pandafuzz-cmd inside the container talks to the node's command host on loopback:
#   docker exec -it <container> dotnet cmd/pandafuzz-cmd.dll cluster show
VOLUME /data
# 9464: a bot-only node's /metrics, /healthz, /readyz when PANDAFUZZ_METRICS is set (docker-compose.yml sets it).
EXPOSE 8080 4053 9464
ENTRYPOINT ["dotnet", "pandafuzz.dll"]
