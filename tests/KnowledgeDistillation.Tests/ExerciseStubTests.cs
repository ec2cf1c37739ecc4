using System.Linq.Expressions;
using System.Reflection;
using KnowledgeDistillation.Exercises;
using KnowledgeDistillation.Setup;

namespace KnowledgeDistillation.Tests;

/// <summary>
/// An exercise cell can ship with a stub, <c>throw new NotImplementedException();</c>, so that "Run All" completes on a
/// fresh clone: every self-check must then say "Not attempted yet" (and name the function), not crash and not call the
/// stub wrong. Found by reflection, so a new check is covered without a new test.
/// </summary>
public class ExerciseStubTests
{
    public static TheoryData<string> Checks()
    {
        var data = new TheoryData<string>();
        foreach (var method in CheckMethods()) data.Add($"{method.DeclaringType!.Name}.{method.Name}");
        return data;
    }

    static IEnumerable<MethodInfo> CheckMethods() =>
        typeof(CheckResult).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(CheckResult).Namespace && t.IsAbstract && t.IsSealed) // static classes
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
            .Where(m => m.ReturnType == typeof(CheckResult) && m.Name.StartsWith("Check", StringComparison.Ordinal)
                        && m.GetParameters().Any(p => typeof(Delegate).IsAssignableFrom(p.ParameterType))
                        && m.GetParameters().All(p => typeof(Delegate).IsAssignableFrom(p.ParameterType) || p.HasDefaultValue))
            .OrderBy(m => m.DeclaringType!.Name).ThenBy(m => m.Name);

    [Fact]
    public void Every_exercise_check_is_found()
    {
        Assert.True(CheckMethods().Count() >= 15, $"only {CheckMethods().Count()} checks found: {string.Join(", ", CheckMethods().Select(m => m.Name))}");
    }

    [Theory]
    [MemberData(nameof(Checks))]
    public void A_stub_that_still_throws_NotImplementedException_is_not_attempted_yet(string check)
    {
        var result = CheckStub(check);
        Assert.False(result.Passed);
        Assert.StartsWith("Not attempted yet: ", result.Message);
        Assert.Contains("NotImplementedException", result.Message);
    }

    /// <summary>In the zh-TW edition (<see cref="KdEnvironment.Language"/> zh-TW) the same stub is 尚未作答.</summary>
    [Theory]
    [MemberData(nameof(Checks))]
    public void In_zh_TW_a_stub_is_not_attempted_yet_in_Chinese(string check)
    {
        CheckResult result;
        using (KdEnvironment.UseLanguage(KdEnvironment.TraditionalChinese))
            result = CheckStub(check);
        Assert.False(result.Passed);
        Assert.StartsWith("尚未作答：", result.Message);
        Assert.Matches(@"^尚未作答：\S.*?仍然擲出 NotImplementedException。把那一行換成你的程式碼，執行儲存格，然後再執行一次這個檢查。", result.Message);
        Assert.DoesNotContain("Not attempted", result.Message);
    }

    /// <summary>Runs <paramref name="check"/> with a stub for each of its functions.</summary>
    static CheckResult CheckStub(string check)
    {
        var method = CheckMethods().Single(m => $"{m.DeclaringType!.Name}.{m.Name}" == check);
        var arguments = method.GetParameters().Select(p => typeof(Delegate).IsAssignableFrom(p.ParameterType) ? Stub(p.ParameterType) : p.DefaultValue).ToArray();
        try
        {
            return (CheckResult)method.Invoke(null, arguments)!;
        }
        catch (TargetInvocationException e)
        {
            throw new Xunit.Sdk.XunitException($"{check} crashed on a stub instead of reporting it: {e.InnerException}");
        }
    }

    /// <summary>A delegate of <paramref name="type"/> whose body is <c>throw new NotImplementedException()</c>.</summary>
    static Delegate Stub(Type type)
    {
        var invoke = type.GetMethod("Invoke")!;
        var parameters = invoke.GetParameters().Select(p => Expression.Parameter(p.ParameterType, p.Name)).ToArray();
        var body = Expression.Throw(Expression.New(typeof(NotImplementedException)), invoke.ReturnType);
        return Expression.Lambda(type, body, parameters).Compile();
    }
}
