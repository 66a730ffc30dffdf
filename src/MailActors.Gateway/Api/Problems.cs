using MailActors.Cluster;
using MailActors.Core;
using MailActors.Storage.Blobs;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;

namespace MailActors.Gateway;

/// <summary>RFC 9457 problem documents: every error the API returns is one of these.</summary>
public static class Problems
{
    public const string TypeBase = "https://mailactors.dev/problems/";

    public static IResult Result(int status, string type, string title, string detail, IDictionary<string, object?>? extensions = null) =>
        TypedResults.Problem(detail, statusCode: status, title: title, type: TypeBase + type, extensions: extensions);

    public static IResult NotFound(string what) => Result(StatusCodes.Status404NotFound, "not-found", "Not found", $"no such {what}");

    public static IResult Invalid(string detail) => Result(StatusCodes.Status400BadRequest, "invalid-request", "Invalid request", detail);

    public static Task Write(HttpContext context, int status, string type, string title, string detail) =>
        Result(status, type, title, detail).ExecuteAsync(context);

    public static (int Status, string Type, string Title) For(MailboxErrorCode code) => code switch
    {
        MailboxErrorCode.NotFound or MailboxErrorCode.NoSuchMailbox => (404, "not-found", "Not found"),
        MailboxErrorCode.AlreadyExists => (409, "already-exists", "Already exists"),
        MailboxErrorCode.Invalid => (400, "invalid-request", "Invalid request"),
        MailboxErrorCode.Forbidden => (403, "forbidden", "Not allowed"),
        MailboxErrorCode.QuotaExceeded => (507, "quota-exceeded", "Mailbox full"),
        _ => (503, "unavailable", "Temporarily unavailable"),
    };

    /// <summary>Problems ASP.NET Core writes itself (binding failures, 404/405/413…) get our type URIs too.</summary>
    public static void Normalize(ProblemDetails problem)
    {
        if (problem.Type?.StartsWith(TypeBase, StringComparison.Ordinal) == true) return;
        problem.Type = TypeBase + problem.Status switch
        {
            400 => "invalid-request",
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not-found",
            405 => "method-not-allowed",
            413 => "too-large",
            415 => "unsupported-media-type",
            _ => "http-" + problem.Status,
        };
    }

    public static IResult From(MailboxException e)
    {
        var (status, type, title) = For(e.Code);
        return Result(status, type, title, e.Message);
    }
}

/// <summary>Turns what escapes an endpoint into a problem document and a log line, never a stack trace.</summary>
internal sealed class ProblemExceptionHandler(ILogger<ProblemExceptionHandler> log) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken ct)
    {
        IResult result;
        switch (exception)
        {
            case MailboxException e:
                if (e.Code == MailboxErrorCode.Unavailable) context.Response.Headers.RetryAfter = "5";
                log.LogWarning("{Method} {Path}: mailbox said {Code}: {Message}", context.Request.Method, context.Request.Path, e.Code, e.Message);
                result = Problems.From(e);
                break;
            case BadHttpRequestException e:
                log.LogInformation("{Method} {Path}: bad request: {Message}", context.Request.Method, context.Request.Path, e.Message);
                result = Problems.Result(e.StatusCode, e.StatusCode == 413 ? "too-large" : "invalid-request",
                    e.StatusCode == 413 ? "Request too large" : "Invalid request", e.Message);
                break;
            case BlobNotFoundException or BlobCorruptedException:
                log.LogError(exception, "{Method} {Path}: stored message unreadable", context.Request.Method, context.Request.Path);
                result = Problems.Result(500, "message-unreadable", "Message unreadable", "the stored message could not be read; the operator has been told");
                break;
            case OperationCanceledException when context.RequestAborted.IsCancellationRequested:
                return true;
            default:
                log.LogError(exception, "{Method} {Path} failed", context.Request.Method, context.Request.Path);
                result = Problems.Result(500, "internal", "Internal error", "the request failed; the error was logged");
                break;
        }
        await result.ExecuteAsync(context);
        return true;
    }
}
