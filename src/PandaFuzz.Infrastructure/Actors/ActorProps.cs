using Akka.Actor;

namespace PandaFuzz.Infrastructure.Actors;

/// <summary>Props for actors created often (an entity, a runner, a fuzzer per job) from a plain delegate.
/// <c>Props.Create(() =&gt; new T(...))</c> takes an expression tree apart and compiles its arguments at every call, then
/// builds the actor by reflection; profiles of the scale benchmark's bots showed that work at each job start.</summary>
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
