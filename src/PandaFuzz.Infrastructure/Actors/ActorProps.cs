using Akka.Actor;

namespace PandaFuzz.Infrastructure.Actors;

/// <summary>
/// Props for actors created often (an entity per job, a runner per job, a fuzzer per run) from a plain factory.
/// <c>Props.Create(() =&gt; new T(...))</c> takes an expression tree apart at every call and compiles the arguments that
/// are more than a captured variable (<c>_settings.PollInterval</c>) into a dynamic method, then builds the actor by
/// reflection; the compiled methods are collected by finalizers. Profiles of the scale benchmark's bot nodes showed
/// that work at each job start. A delegate does the same with neither.
/// </summary>
public static class ActorProps
{
    public static Props Of<TActor>(Func<TActor> create) where TActor : ActorBase => Props.CreateBy(new FactoryProducer<TActor>(create));

    private sealed class FactoryProducer<TActor>(Func<TActor> create) : IIndirectActorProducer where TActor : ActorBase
    {
        public Type ActorType => typeof(TActor);

        public ActorBase Produce() => create();

        public void Release(ActorBase actor)
        {
        }
    }
}
