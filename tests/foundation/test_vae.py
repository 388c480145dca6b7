"""The VAE building blocks: the KL matches its closed form and vanishes at the prior; the
reparameterised sample has the posterior's moments and passes gradients; a tiny VAE learns."""

from __future__ import annotations

import torch

from foundation.vae import GaussianHead, kl_standard_normal, reparameterize


def test_kl_is_zero_at_the_prior_and_matches_torch_distributions() -> None:
    mu, logvar = torch.zeros(3, 4), torch.zeros(3, 4)
    assert torch.allclose(kl_standard_normal(mu, logvar), torch.zeros(3))
    mu, logvar = torch.randn(3, 4), torch.randn(3, 4)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros(4), torch.ones(4))
    expected = torch.distributions.kl_divergence(q, p).sum(-1)
    assert torch.allclose(kl_standard_normal(mu, logvar), expected, atol=1e-5)


def test_reparameterised_samples_have_the_posterior_moments_and_gradients() -> None:
    mu = torch.full((20000, 1), 2.0, requires_grad=True)
    logvar = torch.full((20000, 1), float(torch.log(torch.tensor(0.25))), requires_grad=True)
    z = reparameterize(mu, logvar, torch.Generator().manual_seed(0))
    assert abs(float(z.mean()) - 2.0) < 0.02 and abs(float(z.std()) - 0.5) < 0.02
    z.sum().backward()
    assert mu.grad is not None and logvar.grad is not None


def test_a_tiny_vae_reconstructs_two_clusters() -> None:
    """Points from two far-apart clusters through a 1-d latent: reconstruction beats the mean."""
    torch.manual_seed(0)
    data = torch.cat([torch.randn(256, 2) * 0.05 + 1.0, torch.randn(256, 2) * 0.05 - 1.0])
    encoder, head, decoder = torch.nn.Linear(2, 16), GaussianHead(16, 1), torch.nn.Linear(1, 2)
    params = [*encoder.parameters(), *head.parameters(), *decoder.parameters()]
    optim = torch.optim.Adam(params, lr=1e-2)
    for _ in range(400):
        mu, logvar = head(torch.relu(encoder(data)))
        recon = decoder(reparameterize(mu, logvar))
        loss = (recon - data).pow(2).sum(-1).mean() + 0.01 * kl_standard_normal(mu, logvar).mean()
        optim.zero_grad()
        loss.backward()
        optim.step()
    mu, _ = head(torch.relu(encoder(data)))
    error = (decoder(mu) - data).pow(2).sum(-1).mean()
    assert error < 0.1 * data.pow(2).sum(-1).mean()  # the mean (0, 0) would score 1.0x
