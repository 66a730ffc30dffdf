using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using MailActors.Core;

namespace MailActors.Gateway.Auth;

/// <summary>
/// Session tokens are <c>base64url(address) "." base64url(32 random bytes)</c>. The address
/// routes the check to the right mailbox; the mailbox keeps only the SHA-256 of the secret,
/// so a leaked journal or snapshot holds no usable token.
/// </summary>
public static class SessionTokens
{
    private const int SecretBytes = 32;
    private const int MaxTokenLength = 600;

    public static (string Token, string Hash) Create(MailboxId mailbox)
    {
        Span<byte> secret = stackalloc byte[SecretBytes];
        RandomNumberGenerator.Fill(secret);
        var token = Base64Url(Encoding.UTF8.GetBytes(mailbox.Value)) + "." + Base64Url(secret);
        return (token, Hash(secret));
    }

    public static bool TryParse(string? token, out MailboxId mailbox, [NotNullWhen(true)] out string? hash)
    {
        mailbox = default;
        hash = null;
        if (string.IsNullOrEmpty(token) || token.Length > MaxTokenLength) return false;
        var dot = token.IndexOf('.');
        if (dot <= 0) return false;
        Span<byte> secret = stackalloc byte[SecretBytes + 3];
        if (!System.Buffers.Text.Base64Url.TryDecodeFromChars(token.AsSpan(dot + 1), secret, out var secretLength) || secretLength != SecretBytes)
            return false;
        byte[] address;
        try
        {
            address = System.Buffers.Text.Base64Url.DecodeFromChars(token.AsSpan(0, dot));
        }
        catch (FormatException)
        {
            return false;
        }
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(address);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
        if (!MailboxId.TryParse(text, out mailbox, out _)) return false;
        hash = Hash(secret[..SecretBytes]);
        return true;
    }

    private static string Hash(ReadOnlySpan<byte> secret) => Base64Url(SHA256.HashData(secret));

    private static string Base64Url(ReadOnlySpan<byte> bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);
}
